# An upper server with a thread per client whose loop never ends: when the client closes,
# recv() returns b"" at once, and `continue` asks again, forever, burning a whole core.
import socket
import sys
import threading

port = int(sys.argv[1])


def handle_client(conn):
    while True:
        data = conn.recv(4096)
        if not data:
            continue  # the bug: should close the socket and return
        conn.sendall(data.decode("utf-8").upper().encode("utf-8"))


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(100)
print("server ready", flush=True)
while True:
    conn, addr = server.accept()
    threading.Thread(target=handle_client, args=(conn,), daemon=True).start()

# An address-book server with a thread per client whose loop never notices that the client
# has gone: recv() then returns b"" at once, and `continue` asks again, forever.
import socket
import sys
import threading

port = int(sys.argv[1])
offices = {"JOHN": "C45", "DENISE": "C44", "PHOEBE": "D52", "ADAM": "B23"}


def serve_client(conn):
    while True:
        try:
            data = conn.recv(1024)
        except OSError:
            continue
        if not data:
            continue  # the bug: should close the socket and return
        name = data.decode("utf-8", errors="replace").strip().upper()
        try:
            conn.sendall(offices.get(name, "UNKNOWN").encode())
        except OSError:
            pass


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(16)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve_client, args=(conn,), daemon=True).start()

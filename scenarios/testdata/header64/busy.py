# The length-header server as many students first write it: one thread per client, and a
# loop that only acts when recv() returned something. When a client leaves, recv() returns
# b"" at once, every time, and the thread spins forever on it.
import socket
import sys
import threading


def handle_client(conn):
    while True:
        head = conn.recv(64)
        if head:  # the bug: nothing handles b"", so a departed client is polled forever
            size = int(head.strip())
            body = conn.recv(size)
            if body.decode("utf-8") == "!DISCONNECT":
                conn.close()
                return


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
while True:
    conn, addr = listener.accept()
    threading.Thread(target=handle_client, args=(conn,), daemon=True).start()

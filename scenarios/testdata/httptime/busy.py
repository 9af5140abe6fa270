# A time page over bare sockets, a thread per connection, that after its response keeps
# reading "for the next request": once the client has gone, recv() returns b"" at once and
# the loop spins on it forever.
import socket
import sys
import threading
from datetime import datetime


def serve_client(conn):
    request = b""
    while b"\r\n\r\n" not in request and len(request) < 8192:
        chunk = conn.recv(1024)
        if not chunk:
            break
        request += chunk
    if request:
        page = ("Hello From Server at " + str(datetime.today())).encode()
        head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
        head += "Content-Length: %d\r\n\r\n" % len(page)
        try:
            conn.sendall(head.encode() + page)
        except OSError:
            pass
    while True:
        try:
            more = conn.recv(1024)
        except OSError:
            continue
        if not more:
            continue  # the bug: should close the socket and return


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve_client, args=(conn,), daemon=True).start()

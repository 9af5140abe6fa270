# A time page over a bare socket, one client at a time, that takes the request line apart
# with `method, path, version = line.split()`. A line that is not three words raises
# ValueError, which nothing catches: the program ends.
import socket
import sys
from datetime import datetime

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
while True:
    conn, _ = listener.accept()
    try:
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 8192:
            chunk = conn.recv(1024)
            if not chunk:
                break
            request += chunk
        if not request:
            continue
        line = request.split(b"\r\n")[0].decode("latin-1")
        method, path, version = line.split()  # the bug: ValueError is never caught
        page = ("Hello From Server at " + str(datetime.today())).encode()
        if method in ("GET", "HEAD"):
            head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            head += "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(page)
            conn.sendall(head.encode() + (page if method == "GET" else b""))
        else:
            conn.sendall(b"HTTP/1.0 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    finally:
        conn.close()

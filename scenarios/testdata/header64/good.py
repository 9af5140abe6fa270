# A careful student header64 server: one thread per client, a recvall() helper for the header
# and the body, and every bad input answered by closing that one connection.
import socket
import sys
import threading

HEADER = 64
MAX_LENGTH = 1024 * 1024
TOKEN = "!DISCONNECT"


def recvall(conn, n):
    """Exactly n bytes, or None when the client leaves first."""
    parts = []
    while n > 0:
        part = conn.recv(min(n, 65536))
        if not part:
            return None
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def handle_client(conn):
    try:
        while True:
            header = recvall(conn, HEADER)
            if header is None:
                break
            digits = header.decode("ascii").rstrip(" ")
            if not digits.isdigit() or int(digits) > MAX_LENGTH:
                break  # not a length we accept: refuse by closing
            body = recvall(conn, int(digits))
            if body is None:
                break
            if body.decode("utf-8") == TOKEN:
                break
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError too
        pass
    finally:
        conn.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
while True:
    conn, addr = listener.accept()
    threading.Thread(target=handle_client, args=(conn,), daemon=True).start()

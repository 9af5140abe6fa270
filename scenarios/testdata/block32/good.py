# A careful student block server: one thread per client, recvall() for the prefix and the
# payload, a limit on the declared length, and bytes that are not UTF-8 answered anyway.
import socket
import struct
import sys
import threading

PREFIX = struct.Struct("!I")
MAX_LENGTH = 16 * 1024 * 1024


def recvall(sock, n):
    """Exactly n bytes, or None when the client leaves first."""
    parts = []
    while n > 0:
        part = sock.recv(min(n, 65536))
        if not part:
            return None
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def handle_client(sock):
    try:
        prefix = recvall(sock, PREFIX.size)
        if prefix is None:
            return
        (length,) = PREFIX.unpack(prefix)
        if length > MAX_LENGTH:
            return  # refuse by closing, without reading (or storing) the payload
        payload = recvall(sock, length)
        if payload is None:
            return
        reply = payload.decode("utf-8", errors="replace").upper().encode("utf-8")
        sock.sendall(PREFIX.pack(len(reply)) + reply)
    except OSError:
        pass
    finally:
        sock.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
while True:
    sock, addr = listener.accept()
    threading.Thread(target=handle_client, args=(sock,), daemon=True).start()

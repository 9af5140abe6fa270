# A threaded block server whose recvall() skips empty reads instead of giving up: when a
# client leaves in the middle of a block, recv() returns b"" forever and the thread spins.
import socket
import struct
import sys
import threading


def recvall(sock, n):
    data = b""
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            continue  # the bug: b"" means the client has gone, not "try again"
        data += part
    return data


def handle_client(sock):
    (length,) = struct.unpack("!I", recvall(sock, 4))
    text = recvall(sock, length).decode("utf-8").upper().encode("utf-8")
    sock.sendall(struct.pack("!I", len(text)) + text)
    sock.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
while True:
    sock, addr = listener.accept()
    threading.Thread(target=handle_client, args=(sock,), daemon=True).start()

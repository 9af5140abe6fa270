# The textbook block server, one client at a time and no try/except: a client that leaves
# in the middle of a block makes recvall() raise EOFError, which ends the whole server. (It
# does survive a client that connects and leaves without sending a byte.)
import socket
import struct
import sys


def recvall(sock, n):
    data = b""
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            raise EOFError("client left with %d bytes of the block missing" % (n - len(data)))
        data += part
    return data


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
while True:
    sock, addr = listener.accept()
    first = sock.recv(1)
    if not first:
        sock.close()
        continue
    (length,) = struct.unpack("!I", first + recvall(sock, 3))
    text = recvall(sock, length).decode("utf-8").upper().encode("utf-8")
    sock.sendall(struct.pack("!I", len(text)) + text)
    sock.close()

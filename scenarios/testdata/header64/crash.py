# A single-threaded select() server that parses headers in its main loop: int() of a header
# that is not a number raises ValueError, nothing catches it, and the whole server ends.
import select
import socket
import sys

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(128)
pending = {}  # client socket -> bytes received and not yet parsed

while True:
    readable, _, _ = select.select([listener] + list(pending), [], [])
    for sock in readable:
        if sock is listener:
            conn, addr = listener.accept()
            pending[conn] = b""
            continue
        data = sock.recv(4096)
        if not data:
            del pending[sock]
            sock.close()
            continue
        buf = pending[sock] + data
        done = False
        while len(buf) >= 64 and not done:
            size = int(buf[:64])  # the bug: ValueError here ends the whole server
            if len(buf) < 64 + size:
                break
            body, buf = buf[64:64 + size], buf[64 + size:]
            done = body == b"!DISCONNECT"
        if done:
            del pending[sock]
            sock.close()
        else:
            pending[sock] = buf

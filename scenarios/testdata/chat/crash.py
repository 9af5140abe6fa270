# A single-threaded select() chat server that decodes every message as UTF-8 in its main
# loop: the first bytes that are not UTF-8 raise UnicodeDecodeError and end the process.
import select
import socket
import sys

port = int(sys.argv[1])
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(64)
members = {}

while True:
    readable, _, _ = select.select([listener] + list(members), [], [])
    for sock in readable:
        if sock is listener:
            conn, addr = listener.accept()
            conn.sendall(b"Welcome to this chatroom!")
            members[conn] = addr[0]
            continue
        try:
            data = sock.recv(2048)
        except OSError:
            data = b""
        if not data:
            members.pop(sock, None)
            sock.close()
            continue
        text = data.decode("utf-8")  # the bug: raises on bad bytes, nothing catches it
        for member, ip in list(members.items()):
            if member is not sock:
                try:
                    member.sendall(("<" + members[sock] + "> " + text).encode("utf-8"))
                except OSError:
                    pass

# The classic busy loop: when a client leaves, recv() returns b"" at once, and this handler
# just tries again, forever, burning a whole core.
import socket
import sys
import threading

port = int(sys.argv[1])
members = []
members_lock = threading.Lock()


def serve_client(conn, ip):
    conn.sendall(b"Welcome to this chatroom!")
    with members_lock:
        members.append(conn)
    while True:
        try:
            data = conn.recv(2048)
        except OSError:
            continue
        if not data:
            continue  # the bug: should close and return
        with members_lock:
            for member in list(members):
                if member is not conn:
                    try:
                        member.sendall(b"<" + ip.encode() + b"> " + data)
                    except OSError:
                        pass


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(64)
while True:
    conn, addr = listener.accept()
    threading.Thread(target=serve_client, args=(conn, addr[0]), daemon=True).start()

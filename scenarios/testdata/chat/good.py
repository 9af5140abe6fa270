# A careful student-style C199 chat server: one thread per client, a lock around the
# client list, relays "<ip> message" to everyone but the sender, closes departed clients.
import socket
import sys
import threading

port = int(sys.argv[1])
members = []
members_lock = threading.Lock()


def relay(data, sender, ip):
    line = b"<" + ip.encode() + b"> " + data
    with members_lock:
        for member in list(members):
            if member is sender:
                continue
            try:
                member.sendall(line)
            except OSError:
                members.remove(member)


def serve_client(conn, ip):
    conn.sendall(b"Welcome to this chatroom!")
    with members_lock:
        members.append(conn)
    try:
        while True:
            data = conn.recv(2048)
            if not data:
                break
            relay(data, conn, ip)
    except OSError:
        pass
    finally:
        with members_lock:
            if conn in members:
                members.remove(conn)
        conn.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(64)
while True:
    conn, addr = listener.accept()
    threading.Thread(target=serve_client, args=(conn, addr[0]), daemon=True).start()

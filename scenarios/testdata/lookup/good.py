# A careful address-book server: a thread per client, each request stripped and upper-cased,
# a reply for names it does not know, the socket closed when the client leaves.
import socket
import sys
import threading

port = int(sys.argv[1])
offices = {"JOHN": "C45", "DENISE": "C44", "PHOEBE": "D52", "ADAM": "B23"}


def serve_client(conn):
    try:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            name = data.decode("utf-8", errors="replace").strip().upper()
            conn.sendall(offices.get(name, "UNKNOWN").encode())
    except OSError:
        pass
    finally:
        conn.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(16)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve_client, args=(conn,), daemon=True).start()

# A careful date-and-time server: a thread per client, the request decoded with a fallback
# and stripped, one reply, then the socket is closed.
import socket
import sys
import threading
from datetime import datetime

port = int(sys.argv[1])


def answer(request):
    now = datetime.now()
    if request == "Date":
        return str(now.date())
    if request == "Time":
        return now.strftime("%H:%M:%S")
    if request in ("Date and Time", "DateAndTime"):
        return str(now)
    return "UNKNOWN OPTION: " + request.upper()


def serve_client(conn):
    try:
        data = conn.recv(1024)
        if data:
            conn.sendall(answer(data.decode("utf-8", errors="replace").strip()).encode())
    except OSError:
        pass
    finally:
        conn.close()


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(32)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve_client, args=(conn,), daemon=True).start()

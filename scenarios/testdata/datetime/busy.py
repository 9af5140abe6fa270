# A date-and-time server with a thread per client that, after its reply, keeps reading "in
# case the client asks again": once the client has gone, recv() returns b"" at once and the
# loop spins on it forever.
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
    data = conn.recv(1024)
    if data:
        conn.sendall(answer(data.decode("utf-8", errors="replace").strip()).encode())
    while True:
        try:
            more = conn.recv(1024)
        except OSError:
            continue
        if not more:
            continue  # the bug: should close the socket and return


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(16)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve_client, args=(conn,), daemon=True).start()

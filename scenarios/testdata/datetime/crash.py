# The exercise's server as many first write it: one client at a time, and the request decoded
# as UTF-8 with nothing to catch the error. Bytes that are not UTF-8 raise UnicodeDecodeError,
# which ends the program.
import socket
import sys
from datetime import datetime

port = int(sys.argv[1])
listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(5)
while True:
    conn, _ = listener.accept()
    try:
        request = conn.recv(1024).decode().strip()  # the bug: UnicodeDecodeError is never caught
        now = datetime.now()
        if request == "Date":
            reply = str(now.date())
        elif request == "Time":
            reply = now.strftime("%H:%M:%S")
        elif request in ("Date and Time", "DateAndTime"):
            reply = str(now)
        else:
            reply = "UNKNOWN OPTION: " + request.upper()
        conn.sendall(reply.encode())
    finally:
        conn.close()

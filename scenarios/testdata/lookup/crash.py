# The shape of seed 002's first address-book server: one client at a time, the request
# upper-cased and used as a dictionary key as it is. A name that is not in the dictionary
# raises KeyError; the finally clause closes the client, and the exception ends the program.
import socket
import sys

port = int(sys.argv[1])
offices = {"JOHN": "C45", "DENISE": "C44", "PHOEBE": "D52", "ADAM": "B23"}

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", port))
listener.listen(1)
while True:
    conn, _ = listener.accept()
    try:
        while True:
            data = conn.recv(1024).decode()
            if not data:
                break
            conn.sendall(offices[data.upper()].encode())  # the bug: KeyError is never caught
    finally:
        conn.close()

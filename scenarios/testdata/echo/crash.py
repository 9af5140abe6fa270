# A sequential echo server that prints what it receives. Printing decodes the bytes as
# UTF-8, and nothing catches the UnicodeDecodeError: bytes that are not UTF-8 end the server.
import socket
import sys

port = int(sys.argv[1])
server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server_socket.bind(("127.0.0.1", port))
server_socket.listen(5)
print("server ready", flush=True)
while True:
    (client_socket, client_address) = server_socket.accept()
    while True:
        data = client_socket.recv(1024)
        if not data:
            break
        print("received:", data.decode("utf-8"))  # the bug: raises on bytes that are not UTF-8
        client_socket.sendall(data)
    client_socket.close()

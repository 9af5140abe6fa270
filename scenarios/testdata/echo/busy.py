# An echo server with a thread per client and no `if not data: break`: once the client has
# closed, recv() returns b"" at once and send(b"") sends nothing, forever, burning a core.
import socket
import sys
import threading

port = int(sys.argv[1])


def handle_client(client_socket):
    while True:
        data = client_socket.recv(1024)
        client_socket.send(data)  # the bug: never stops when data is b""


server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server_socket.bind(("127.0.0.1", port))
server_socket.listen(5)
print("server ready", flush=True)
while True:
    (client_socket, client_address) = server_socket.accept()
    threading.Thread(target=handle_client, args=(client_socket,), daemon=True).start()

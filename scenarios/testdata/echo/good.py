# A careful echo server in the style of seed 003: a thread per client, recv() until b"",
# sendall() of exactly what came, errors of one client kept to that client, socket closed.
import socket
import sys
import threading

port = int(sys.argv[1])


def handle_client(client_socket):
    try:
        while True:
            data = client_socket.recv(1024)
            if not data:
                break
            client_socket.sendall(data)
    except OSError:
        pass
    finally:
        client_socket.close()


server_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server_socket.bind(("127.0.0.1", port))
server_socket.listen(100)
print("server ready", flush=True)
while True:
    (client_socket, client_address) = server_socket.accept()
    threading.Thread(target=handle_client, args=(client_socket,), daemon=True).start()

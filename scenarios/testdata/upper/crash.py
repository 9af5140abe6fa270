# A sequential upper server in the style of seed 004: the handler only catches OSError, so
# the UnicodeDecodeError of bytes that are not UTF-8 ends the accept loop and the process.
from socket import *
import sys

serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(("127.0.0.1", serverPort))
serverSocket.listen(100)
print("server ready", flush=True)


def handle_client(clientSocket):
    try:
        while True:
            received = clientSocket.recv(4096)
            if not received:
                clientSocket.close()
                return
            to_send = received.decode("utf-8").upper().encode("utf-8")  # the bug: may raise
            clientSocket.sendall(to_send)
    except OSError:
        clientSocket.close()


while True:
    connectionSocket, address = serverSocket.accept()
    handle_client(connectionSocket)

# The pool of threads of seed 004: four threads share the listening socket, each accepts a
# client, answers its one request and closes it. Four silent clients hold all four threads.
from socket import *
from threading import Thread
import sys

serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_STREAM)
serverSocket.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
serverSocket.bind(("127.0.0.1", serverPort))
serverSocket.listen(100)
print("server ready", flush=True)


def handle_client(listeningSocket):
    while True:
        clientSocket, address = listeningSocket.accept()
        try:
            received = clientSocket.recv(4096)
            if received:
                text = received.decode("utf-8", "surrogateescape")
                clientSocket.sendall(text.upper().encode("utf-8", "surrogateescape"))
        except OSError:
            pass
        finally:
            clientSocket.close()


for i in range(4):
    Thread(target=handle_client, args=(serverSocket,)).start()

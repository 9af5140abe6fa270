# A habit carried over from TCP: `if not message: break`. In UDP an empty datagram is just a
# datagram, and this ends the server.
import sys
from socket import *

serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', serverPort))
print('server ready', flush=True)
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    if not message:
        break  # the bug
    modifiedMessage = message.decode('utf-8').upper()
    serverSocket.sendto(modifiedMessage.encode('utf-8'), clientAddress)
print('server stopped', flush=True)

# A careful udp-upper server: each datagram handled on its own, bad bytes dropped, the reply
# sent from the receiving socket to the address the datagram came from.
import sys
from socket import *

serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', serverPort))
print('server ready', flush=True)
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    try:
        reply = message.decode('utf-8').upper().encode('utf-8')
    except UnicodeDecodeError:
        continue  # not text: no reply
    serverSocket.sendto(reply, clientAddress)

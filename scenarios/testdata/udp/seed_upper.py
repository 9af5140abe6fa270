# The udp-upper server of seed 004 (Python 3), as students hand it in: decode('utf-8') with
# no try, so the first datagram that is not UTF-8 raises UnicodeDecodeError and ends it.
import sys
from socket import *

serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', serverPort))
print('server ready', flush=True)
while True:
    message, clientAddress = serverSocket.recvfrom(2048)
    modifiedMessage = message.decode('utf-8').upper()
    print(modifiedMessage, flush=True)
    serverSocket.sendto(modifiedMessage.encode('utf-8'), clientAddress)

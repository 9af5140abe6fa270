# The "TTL estimator" of seed 004: PONG to any datagram.
import sys
from socket import *

serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', serverPort))
print('server ready', flush=True)
while True:
    _, clientAddress = serverSocket.recvfrom(2048)
    serverSocket.sendto(b'PONG', clientAddress)

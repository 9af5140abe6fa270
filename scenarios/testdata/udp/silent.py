# Binds the port but never answers: to the readiness probe it never came up.
import sys
from socket import *

serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
while True:
    serverSocket.recvfrom(2048)

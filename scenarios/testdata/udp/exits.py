# Dies before it binds: it reads its port from the wrong argument (IndexError).
import sys
from socket import *

serverPort = int(sys.argv[2])  # the bug: the port is sys.argv[1]
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', serverPort))

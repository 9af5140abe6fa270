# The classic UDP busy loop: a non-blocking socket polled without select(), so the loop spins
# on BlockingIOError and burns a whole core even when nobody sends.
import sys
from socket import *

serverPort = int(sys.argv[1])
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', serverPort))
serverSocket.setblocking(False)
print('server ready', flush=True)
while True:
    try:
        message, clientAddress = serverSocket.recvfrom(2048)
    except BlockingIOError:
        continue  # the bug: nothing to read, so try again at once, forever
    reply = message.decode('utf-8', errors='replace').upper().encode('utf-8')
    serverSocket.sendto(reply, clientAddress)

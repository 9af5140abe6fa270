# The socketserver version of the address book: one recv() and one reply per connection,
# a thread per connection (ThreadingTCPServer), unknown names answered rather than raised.
import socketserver
import sys

offices = {"JOHN": "C45", "DENISE": "C44", "PHOEBE": "D52", "ADAM": "B23"}


class LookupHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data = self.request.recv(1024)
        name = data.decode("utf-8", errors="replace").strip().upper()
        self.request.sendall(offices.get(name, "UNKNOWN").encode())


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


with Server(("127.0.0.1", int(sys.argv[1])), LookupHandler) as server:
    server.serve_forever()

# A careful time page: ThreadingHTTPServer, GET and HEAD with the same headers, a valid
# Content-Type, the page's length; anything else is left to http.server (501, 400).
import sys
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TimePage(BaseHTTPRequestHandler):
    def send_page(self, with_body):
        page = ("Hello From Server at " + str(datetime.today())).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        if with_body:
            self.wfile.write(page)

    def do_GET(self):
        self.send_page(True)

    def do_HEAD(self):
        self.send_page(False)

    def log_message(self, format, *args):
        pass


ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), TimePage).serve_forever()

# The time page as seed 002 builds it, rewritten: ThreadingHTTPServer, a do_GET that sends
# the page with its length, the Content-type typo `charset-utf-8`, and no do_HEAD (so HEAD
# gets 501). Malformed request lines get http.server's own handling (400, or an HTTP/0.9
# style error page and a close).
import sys
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TimePage(BaseHTTPRequestHandler):
    def do_GET(self):
        page = bytes("Hello From Server at " + str(datetime.today()), "utf-8")
        self.send_response(200)
        self.send_header("Content-type", "text/plain; charset-utf-8")
        self.send_header("Content-length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format, *args):
        pass


ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), TimePage).serve_forever()

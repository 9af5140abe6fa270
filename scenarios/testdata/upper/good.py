# A careful upper server: a thread per client, an incremental decoder so that a character
# split across two reads is upper-cased whole, bytes that are not UTF-8 sent back as they
# came (surrogateescape), sendall, and the socket closed when the client leaves.
import codecs
import socket
import sys
import threading

port = int(sys.argv[1])


def upper(text):
    return text.upper().encode("utf-8", "surrogateescape")


def handle_client(conn):
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    try:
        while True:
            data = conn.recv(4096)
            if not data:
                rest = decoder.decode(b"", final=True)
                if rest:
                    conn.sendall(upper(rest))
                break
            text = decoder.decode(data)
            if text:
                conn.sendall(upper(text))
    except OSError:
        pass
    finally:
        conn.close()


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(100)
print("server ready", flush=True)
while True:
    conn, addr = server.accept()
    threading.Thread(target=handle_client, args=(conn,), daemon=True).start()

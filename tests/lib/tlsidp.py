"""A small HTTPS identity provider for tests: a CA and server
certificates made with openssl, and a threaded server of JSON documents
(Handler.docs, by path; Handler.delay seconds before each answer).
Used by tests/ident/test_jwks_https.py (the verifier's fetch) and
tests/ctl/test_ident_fetch.py (cordond's fetch child)."""
import http.server
import ssl
import subprocess
import threading
import time

OPENSSL = "openssl"


def sh(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    sh(OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
       "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}",
       "-addext", "basicConstraints=critical,CA:TRUE",
       "-addext", "keyUsage=critical,keyCertSign", cwd=d)


def make_cert(d, ca, name, san):
    sh(OPENSSL, "req", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{name}.key",
       "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    sh(OPENSSL, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem",
       "-CAkey", f"{ca}.key", "-CAcreateserial", "-out", f"{name}.pem",
       "-days", "2", "-extfile", f"{name}.ext", cwd=d)


class Handler(http.server.BaseHTTPRequestHandler):
    docs = {}
    delay = 0

    def do_GET(self):
        if self.delay:
            time.sleep(self.delay)
        body = self.docs.get(self.path)
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(d, cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / f"{cert}.pem", d / f"{cert}.key")
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv

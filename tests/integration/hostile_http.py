"""A hostile HTTP peer for `sluice ingest`'s source tests: a scripted server on a random loopback
port whose every GET takes the next step of a script (the last step repeats). Steps answer 500,
429 with Retry-After, garbage, hang, cut a body short, or forward to a real upstream (fake-api),
so a test can put exactly the failures it wants in front of a healthy source.

    with HostileServer([status(500), status(429, headers={"Retry-After": "1"}),
                        forward(api.addr)]) as h:
        run ingest --source h.url("/api/?seed=x") ...
        h.requests   # [(monotonic time, path)] of every request received
"""

import http.client
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sluice_harness as sh


def status(code, body=b'{"error":"Uh oh, something has gone wrong. Please tell us about it"}',
           headers=None, content_type="application/json"):
    """Answers with this status, body and headers."""
    def step(h):
        h.send_response(code)
        h.send_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    step.__name__ = f"status {code}"
    return step


def garbage(body, code=200):
    """A 200 (or code) whose body is not what a randomuser API sends."""
    return status(code, body, content_type="text/html")


def hang(seconds):
    """Reads the request and says nothing for this long, then closes."""
    def step(h):
        time.sleep(seconds)
        h.close_connection = True
    return step


def cut_short(declared=100000, sent=b'{"results":[{"gender":"fem'):
    """Promises a long body, sends a little of it and closes the connection."""
    def step(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(declared))
        h.end_headers()
        h.wfile.write(sent)
        h.wfile.flush()
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)
    return step


def forward(upstream):
    """Passes the request on to upstream (HOST:PORT) and its answer back unchanged."""
    host, port = upstream.rsplit(":", 1)

    def step(h):
        c = http.client.HTTPConnection(host, int(port), timeout=sh.scaled(30))
        try:
            c.request("GET", h.path)
            r = c.getresponse()
            body = r.read()
        finally:
            c.close()
        h.send_response(r.status)
        h.send_header("Content-Type", r.getheader("Content-Type", "application/json"))
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
    return step


class HostileServer:
    def __init__(self, script, host=sh.HOST):
        self.script = list(script)
        self.requests = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                with server.lock:
                    i = len(server.requests)
                    server.requests.append((time.monotonic(), self.path))
                    step = server.script[min(i, len(server.script) - 1)]
                step(self)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, sh.free_port()), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def addr(self):
        return f"{self.httpd.server_address[0]}:{self.httpd.server_address[1]}"

    def url(self, path="/api/"):
        return f"http://{self.addr}{path}"

    def gaps(self):
        """Seconds between consecutive requests."""
        t = [r[0] for r in self.requests]
        return [b - a for a, b in zip(t, t[1:])]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

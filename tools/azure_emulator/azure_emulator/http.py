"""Small HTTP toolkit: request/response objects, a regex router, listeners.

The stdlib ``ThreadingHTTPServer`` is enough for test traffic; TLS is
negotiated in the worker thread so one slow client cannot stall accept().
"""

import json
import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


class Request:
    def __init__(self, emu, listener, method, target, headers, body):
        self.emu = emu
        self.listener = listener
        self.method = method
        self.target = target
        parts = urlsplit(target)
        self.path = parts.path
        self.query_string = parts.query
        self.query = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            self.query.setdefault(key, value)
        self.headers = headers
        self.body = body
        self.claims = None
        self._form = None

    def header(self, name, default=None):
        return self.headers.get(name, default)

    def json(self):
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise HttpError(
                Response.arm_error(400, "InvalidRequestContent", "The request content was invalid: %s" % exc)
            ) from exc

    def form(self):
        if self._form is None:
            self._form = {}
            for key, value in parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True):
                self._form.setdefault(key, value)
        return self._form

    def param(self, name, default=None):
        """A parameter from the form body (POST) or the query string."""
        if self.method == "POST" and name in self.form():
            return self.form()[name]
        return self.query.get(name, default)


class Response:
    def __init__(self, status=200, body=b"", headers=None, content_type=None):
        self.status = status
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.body = body
        self.headers = dict(headers or {})
        if content_type:
            self.headers["Content-Type"] = content_type
        self.drop = False

    @classmethod
    def json(cls, status, payload, headers=None):
        body = b"" if payload is None else json.dumps(payload).encode()
        return cls(status, body, headers, "application/json; charset=utf-8" if body else None)

    @classmethod
    def html(cls, status, text, headers=None):
        return cls(status, text, headers, "text/html; charset=utf-8")

    @classmethod
    def redirect(cls, location, status=302):
        return cls(status, b"", {"Location": location})

    @classmethod
    def arm_error(cls, status, code, message, details=None, headers=None, target=None):
        error = {"code": code, "message": message}
        if target:
            error["target"] = target
        error["details"] = details or []
        return cls.json(status, {"error": error}, headers)


class HttpError(Exception):
    """Raised by handlers to answer with ``response`` at once."""

    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


class Router:
    def __init__(self):
        self.routes = []

    def add(self, methods, pattern, handler, flags=re.IGNORECASE):
        self.routes.append((set(methods.split()), re.compile(pattern + r"\Z", flags), handler))

    def match(self, method, path):
        """Returns (handler, groups) or (None, allowed_methods)."""
        allowed = set()
        for methods, regex, handler in self.routes:
            m = regex.match(path)
            if m:
                if method in methods or (method == "HEAD" and "GET" in methods and "HEAD" not in methods):
                    return handler, m.groups()
                allowed |= methods
        return None, allowed


HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AzureEmulator/0.1"

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):
        # Requests are recorded by the emulator (control API), never printed.
        pass

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if not size:
                    # Trailer section ends with an empty line.
                    while self.rfile.readline().strip():
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self):
        self.server.app.handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def send(self, response):
        if response.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # Already gone: that is the point of a dropped connection.
            return
        # send_response writes our own Server and Date: a proxied answer's are left out
        self.send_response(response.status)
        length = str(len(response.body))
        for name, value in response.headers.items():
            if name.lower() == "content-length":
                # HEAD answers (blob properties) announce the size they omit.
                if self.command == "HEAD":
                    length = str(value)
            elif name.lower() not in HOP_HEADERS and name.lower() not in ("server", "date"):
                self.send_header(name, str(value))
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)


class Listener(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, app, name, host, port, ssl_context=None):
        self.app = app
        self.name = name
        self.ssl_context = ssl_context
        super().__init__((host, port), Handler)
        self.thread = None

    @property
    def port(self):
        return self.server_address[1]

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                # A client that rejects our CA (or probes the port) just
                # goes away; nothing to answer.
                return
            try:
                self.RequestHandlerClass(request, client_address, self)
            finally:
                # The plain socket was detached by wrap_socket: close ours.
                request.close()
            return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address):
        # Clients closing keep-alive sockets mid-read are routine in tests.
        pass

    def start(self):
        self.thread = threading.Thread(target=self.serve_forever, name="emu-" + self.name, daemon=True)
        self.thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


def server_ssl_context(cert_path, key_path):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context

"""Small HTTP toolkit: request/response objects, a regex router, listeners.

The listeners are werkzeug's threaded development server, enough for test
traffic, serving a small WSGI application that hands a ``Request`` to the
emulator and writes its ``Response``.
"""

import json
import re
import socket
import ssl
import threading
from urllib.parse import parse_qsl, urlsplit

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import get_input_stream

# the request's headers as the client sent them (http.client.HTTPMessage), in the environ
RAW_HEADERS = "azure_emulator.headers"


class Request:
    def __init__(self, emu, listener, environ):
        self.emu = emu
        self.listener = listener
        self.method = environ["REQUEST_METHOD"]
        # as the client sent it, not percent-decoded (the blob proxy forwards it)
        self.target = environ.get("RAW_URI") or environ.get("PATH_INFO", "/")
        parts = urlsplit(self.target)
        self.path = parts.path
        self.query_string = parts.query
        self.query = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            self.query.setdefault(key, value)
        # as sent: WSGI's HTTP_* keys turn "_" into "-" (blob metadata names have "_")
        self.headers = environ[RAW_HEADERS]
        # chunked bodies are decoded by werkzeug; otherwise bounded by Content-Length
        self.body = get_input_stream(environ).read()
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

    def add(self, methods, pattern, handler, flags=re.IGNORECASE, api=None):
        """``api``: the ARM operation the route answers (a key of arm_versions.IMPLEMENTED)."""
        self.routes.append((set(methods.split()), re.compile(pattern + r"\Z", flags), handler, api))

    def match(self, method, path):
        """Returns (handler, groups) or (None, allowed_methods)."""
        handler, groups, _api = self.lookup(method, path)
        return handler, groups

    def lookup(self, method, path):
        """Returns (handler, groups, api) or (None, allowed_methods, None)."""
        allowed = set()
        for methods, regex, handler, api in self.routes:
            m = regex.match(path)
            if m:
                if method in methods or (method == "HEAD" and "GET" in methods and "HEAD" not in methods):
                    return handler, m.groups(), api
                allowed |= methods
        return None, allowed, None


HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}


class DroppedConnection(ConnectionAbortedError):
    """Raised after closing the client's socket: werkzeug's server treats a
    ConnectionError as a connection the client dropped and writes nothing."""


class _RequestHandler(WSGIRequestHandler):
    server_version = "AzureEmulator/0.1"

    def version_string(self):
        return self.server_version

    def log(self, type, message, *args):  # pylint: disable=redefined-builtin
        # Requests are recorded by the emulator (control API), never printed.
        pass

    def make_environ(self):
        environ = super().make_environ()
        environ[RAW_HEADERS] = self.headers
        return environ


def wsgi_app(app, name):
    """The WSGI application of listener ``name``: ``app.handle(Request)`` -> Response."""

    def application(environ, start_response):
        response = app.handle(Request(app, name, environ))
        if response.drop:
            sock = environ["werkzeug.socket"]
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # Already gone: that is the point of a dropped connection.
            raise DroppedConnection()
        # werkzeug writes our own Server and Date: a proxied answer's are left out
        length = str(len(response.body))
        headers = []
        for header, value in response.headers.items():
            if header.lower() == "content-length":
                # HEAD answers (blob properties) announce the size they omit.
                if environ["REQUEST_METHOD"] == "HEAD":
                    length = str(value)
            elif header.lower() not in HOP_HEADERS and header.lower() not in ("server", "date"):
                headers.append((header, str(value)))
        headers.append(("Content-Length", length))
        start_response("%d %s" % (response.status, HTTP_STATUS_CODES.get(response.status, "")), headers)
        if environ["REQUEST_METHOD"] == "HEAD" or not response.body:
            return []
        return [response.body]

    return application


class Listener(ThreadedWSGIServer):
    """werkzeug's threaded server; TLS is negotiated in the worker thread
    (not by a TLS listening socket in accept()) so that one slow client
    cannot stall the others."""

    daemon_threads = True

    def __init__(self, app, name, host, port, ssl_context=None):
        self.name = name
        super().__init__(host, port, wsgi_app(app, name), handler=_RequestHandler)
        # werkzeug reads it for the environ's url_scheme and its TLS error handling
        self.ssl_context = ssl_context
        self.thread = None

    def finish_request(self, request, client_address):
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                # A client that rejects our CA (or probes the port) just
                # goes away; nothing to answer.
                return
            try:
                super().finish_request(request, client_address)
            finally:
                # The plain socket was detached by wrap_socket: close ours.
                request.close()
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        # Clients closing keep-alive sockets mid-read are routine in tests.
        pass

    def log(self, type, message, *args):  # pylint: disable=redefined-builtin
        # What werkzeug reports here is a client gone mid-answer (e.g. a TLS EOF):
        # routine in tests. The emulator logs its own failures (Emulator.handle).
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

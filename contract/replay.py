"""A local HTTPS server that answers with Azure's recorded answers.

Each fixture file (``fixtures/<area>/<name>.json``) names its ``source`` (a
file of azure-rest-api-specs or a Microsoft Learn page) and lists
``exchanges``: a request to match (``method``, ``path`` with ``{name}``
placeholders matching one path segment, optional ``api_version`` and
``query``) and the answer (``status``, ``headers``, ``body``). Exchanges that
match the same request are served in their order, the last one again once the
others are used (a long-running operation polled until it ends). ``{base}`` in
a header or a body is this server's URL: recorded answers point at
management.azure.com, the replay at itself.

The SDKs' real pipelines send real HTTP to it; nothing of theirs or ours is
patched. ``requests`` keeps what was asked, for the tests' assertions.
"""

import json
import re
import ssl
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import trustme
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

FIXTURES = Path(__file__).parent / "fixtures"


def load(name):
    """The fixture ``fixtures/<name>.json`` (its ``source`` is required)."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    if not data.get("source"):
        raise ValueError(f"fixture {name} does not name its source")
    return data


def _pattern(path):
    parts = re.split(r"(\{[^}/]+\})", path)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile("^" + regex + "$", re.IGNORECASE)


class Replay:
    """Serve exchanges over HTTPS on 127.0.0.1 (a CA of its own, ``ca_path``)."""

    def __init__(self, workdir):
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = str(Path(workdir) / "replay-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_path)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True, ssl_context=ctx)
        self.base = "https://127.0.0.1:%d" % self.server.server_port
        self.requests = []
        self._routes = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self.server.shutdown()
        self._thread.join(5)

    def reset(self):
        with self._lock:
            self.requests.clear()
            self._routes.clear()

    def serve(self, *fixtures):
        """Add the exchanges of fixture names or dicts; returns the last fixture."""
        data = None
        for fixture in fixtures:
            data = load(fixture) if isinstance(fixture, str) else fixture
            for exchange in data["exchanges"]:
                with self._lock:
                    self._routes.append(
                        {"pattern": _pattern(exchange["path"]), "exchange": exchange, "used": 0}
                    )
        return data

    def _match(self, request):
        query = parse_qs(urlsplit(request.url).query)
        found = []
        for route in self._routes:
            ex = route["exchange"]
            if ex.get("method", "GET").upper() != request.method:
                continue
            if not route["pattern"].match(request.path):
                continue
            if "api_version" in ex and query.get("api-version", [None])[0] != ex["api_version"]:
                continue
            if any(query.get(k, [None])[0] != v for k, v in ex.get("query", {}).items()):
                continue
            found.append(route)
        if not found:
            return None
        for route in found:
            if not route["used"]:
                route["used"] = 1
                return route["exchange"]
        return found[-1]["exchange"]

    def _app(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        with self._lock:
            self.requests.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "query": {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()},
                    "headers": dict(request.headers),
                    "body": body.decode("utf-8", "replace"),
                }
            )
            exchange = self._match(request)
        if exchange is None:
            answer = Response(
                json.dumps(
                    {"error": {"code": "NoRecordedAnswer", "message": f"{request.method} {request.url}"}}
                ),
                status=599,
                content_type="application/json",
            )
            return answer(environ, start_response)
        headers = {k: v.replace("{base}", self.base) for k, v in exchange.get("headers", {}).items()}
        payload = exchange.get("body")
        if payload is None:
            data = b""
        elif isinstance(payload, str):
            data = payload.replace("{base}", self.base).encode()
        else:
            data = json.dumps(payload).replace("{base}", self.base).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        answer = Response(data, status=exchange.get("status", 200), headers=headers)
        if request.method == "HEAD" and "Content-Length" in headers:
            # a HEAD answer gives the length of the body it does not carry (Get Blob Properties)
            answer.headers["Content-Length"] = headers["Content-Length"]
        return answer(environ, start_response)

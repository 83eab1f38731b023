"""A OneRoster REST server for tests: http.server in a thread, paging by limit/offset with X-Total-Count,
and both authentications checked for real (1.1: OAuth 1.0a HMAC-SHA256 signatures with nonce and time
stamp; 1.2: OAuth 2 client credentials at /token, then bearer tokens).

    with OneRosterServer(version="1.2", data=roster(100)) as server:
        client = OneRosterClient(base_url=server.base_url, version="1.2", ...)

Faults for tests: `fail_status` {(collection, offset): [status, ...]} answered in turn before the page,
`malformed` {(collection, offset)}, `stall` {(collection, offset): seconds}, `revoke()`.
"""
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from oauthlib.common import Request
from oauthlib.oauth1.rfc5849 import signature, utils

CLIENT_ID = "classworks-test-client"
CLIENT_SECRET = "s3cret-Value-that-must-never-leak"
PREFIX = {"1.1": "/ims/oneroster/v1p1", "1.2": "/ims/oneroster/rostering/v1p2"}
MAX_LIMIT = 100  # like real servers, a larger limit is cut down: the client must follow the data, not its own page size


class OneRosterServer:
    def __init__(self, *, version: str, data: dict, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET):
        self.version = version
        self.data = data
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens: set[str] = set()
        self.nonces: set[str] = set()
        self.fail_status: dict[tuple[str, int], list[int]] = {}
        self.retry_after: str | None = None
        self.malformed: set[tuple[str, int]] = set()
        self.stall: dict[tuple[str, int], float] = {}
        self.send_total = True
        self.requests: list[tuple[str, int, int]] = []  # (collection, offset, status)
        self.auth_headers: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{PREFIX[self.version]}"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    def revoke(self) -> None:
        """The district revoked the credentials: the old secret and every token stop working."""
        self.client_secret = secrets.token_urlsafe(16)
        self.tokens.clear()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body, headers=None):
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_POST(self):
                path = urlsplit(self.path).path
                length = int(self.headers.get("Content-Length") or 0)
                body = parse_qs(self.rfile.read(length).decode())
                if server.version != "1.2" or path != PREFIX["1.2"] + "/token":
                    return self._send(404, {"error": "not_found"})
                import base64
                auth = self.headers.get("Authorization", "")
                try:
                    cid, _, secret = base64.b64decode(auth.split(" ", 1)[1]).decode().partition(":")
                except Exception:
                    cid = secret = ""
                if body.get("grant_type") != ["client_credentials"]:
                    return self._send(400, {"error": "unsupported_grant_type"})
                if cid != server.client_id or not secrets.compare_digest(secret, server.client_secret):
                    return self._send(401, {"error": "invalid_client"})
                token = secrets.token_urlsafe(24)
                server.tokens.add(token)
                self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 3600})

            def _authorized(self, url: str) -> bool:
                header = self.headers.get("Authorization", "")
                server.auth_headers.append(header)
                if server.version == "1.2":
                    return header.startswith("Bearer ") and header[7:] in server.tokens
                if not header.startswith("OAuth "):
                    return False
                params = dict(utils.parse_authorization_header(header))
                if params.get("oauth_signature_method") != "HMAC-SHA256" or params.get("oauth_consumer_key") != server.client_id:
                    return False
                if abs(time.time() - int(params.get("oauth_timestamp", "0"))) > 300 or params.get("oauth_nonce") in server.nonces:
                    return False
                server.nonces.add(params["oauth_nonce"])
                request = Request(url, http_method="GET", headers={"Authorization": header})
                request.params = signature.collect_parameters(
                    uri_query=urlsplit(url).query, headers={"Authorization": header}, exclude_oauth_signature=True,
                )
                request.signature = utils.unescape(params.get("oauth_signature", ""))
                return signature.verify_hmac_sha256(request, server.client_secret, None)

            def do_GET(self):
                parts = urlsplit(self.path)
                prefix = PREFIX[server.version]
                collection = parts.path[len(prefix) + 1:] if parts.path.startswith(prefix + "/") else ""
                query = parse_qs(parts.query)
                limit = min(int(query.get("limit", ["100"])[0]), MAX_LIMIT)
                offset = int(query.get("offset", ["0"])[0])
                key = (collection, offset)
                if not self._authorized(f"http://{self.headers['Host']}{self.path}"):
                    server.requests.append((collection, offset, 401))
                    return self._send(401, {"imsx_codeMajor": "failure", "imsx_description": "unauthorized"})
                if collection not in server.data:
                    server.requests.append((collection, offset, 404))
                    return self._send(404, {"imsx_codeMajor": "failure"})
                if server.fail_status.get(key):
                    status = server.fail_status[key].pop(0)
                    server.requests.append((collection, offset, status))
                    headers = {"Retry-After": server.retry_after} if status == 429 and server.retry_after else {}
                    return self._send(status, {"imsx_codeMajor": "failure"}, headers)
                if key in server.stall:
                    time.sleep(server.stall[key])
                server.requests.append((collection, offset, 200))
                if key in server.malformed:
                    return self._send(200, b'{"users": [{"sourcedId": "u1", "givenName": ')
                records = server.data[collection]
                headers = {"X-Total-Count": str(len(records))} if server.send_total else {}
                self._send(200, {collection: records[offset:offset + limit]}, headers)

        return Handler

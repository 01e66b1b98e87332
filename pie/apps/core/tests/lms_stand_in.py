"""
A stand-in for the LMS's OAuth2 provider (django-oauth-toolkit under edx-platform's
``oauth_dispatch``), served by a real HTTP server in a thread, for the sign-in round trip:

- ``GET /oauth2/authorize``: the person "signed in at the LMS" approves PIE's application;
  the browser goes back to the registered redirect URI with a one-time code and the ``state``.
- ``POST /oauth2/access_token``: PIE exchanges the code, with its client id and secret, for a
  JWT access token (``token_type=jwt``) carrying the claims the LMS puts there for the scopes
  ``user_id``, ``profile`` and ``email``; signed like the LMS's tokens that PIE's API accepts.
- ``GET /logout``: the LMS's logout page.

Everything it is asked is recorded in ``requests`` so that tests can check what PIE sent.
"""

import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from pie.apps.core.dev_tokens import dev_token_payload, sign_dev_token


@dataclass
class LmsStandIn:
    client_id: str
    client_secret: str
    redirect_uri: str
    # The LMS account of whoever is signed in at the LMS (its JWT claims); set by tests.
    signed_in: dict | None = None
    # True: the person clicks "Deny" on the LMS's authorization page.
    denies: bool = False
    requests: list = field(default_factory=list)
    _codes: dict = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    def sign_in_as(self, username: str, *, lms_user_id: int, administrator: bool, **claims) -> dict:
        """The LMS account that the next authorization approves, as its JWT's claims."""
        self.signed_in = dev_token_payload(
            lms_user_id=lms_user_id,
            preferred_username=username,
            email=f"{username}@lms.example.com",
            administrator=administrator,
            superuser=administrator,
            name=username.title(),
            given_name=username.title(),
            family_name="",
            scopes=["user_id", "profile", "email"],
            **claims,
        )
        return self.signed_in

    @property
    def url_root(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "LmsStandIn":
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                stand_in._record(self)
                path = urlsplit(self.path).path
                if path == "/oauth2/authorize":
                    stand_in._authorize(self)
                elif path == "/logout":
                    self._send(200, "text/html", b"<p>Signed out of the LMS.</p>")
                else:
                    self._send(404, "text/plain", b"not found")

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stand_in._record(self, body)
                if urlsplit(self.path).path == "/oauth2/access_token":
                    stand_in._access_token(self, parse_qs(body.decode()))
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, status, content_type, body, headers=()):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet under pytest
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, handler, body: bytes = b"") -> None:
        parts = urlsplit(handler.path)
        self.requests.append(
            {
                "method": handler.command,
                "path": parts.path,
                "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                "form": {k: v[0] for k, v in parse_qs(body.decode()).items()},
            }
        )

    def _registered(self, redirect_uri: str) -> bool:
        """
        django-oauth-toolkit's rule: scheme, host and path as registered; extra query
        parameters (social-auth's ``redirect_state``) allowed.
        """
        given, registered = urlsplit(redirect_uri), urlsplit(self.redirect_uri)
        return (given.scheme, given.netloc, given.path) == (
            registered.scheme,
            registered.netloc,
            registered.path,
        )

    def _authorize(self, handler) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        redirect_uri = query.get("redirect_uri", "")
        if (
            query.get("client_id") != self.client_id
            or not self._registered(redirect_uri)
            or query.get("response_type") != "code"
        ):
            # django-oauth-toolkit shows an error page; it never redirects to an unknown URI.
            handler._send(400, "text/plain", b"invalid client or redirect URI")
            return
        if self.denies or self.signed_in is None:
            answer = {"error": "access_denied", "state": query.get("state", "")}
        else:
            code = secrets.token_urlsafe(16)
            self._codes[code] = (dict(self.signed_in), redirect_uri)
            answer = {"code": code, "state": query.get("state", "")}
        separator = "&" if "?" in redirect_uri else "?"
        location = f"{redirect_uri}{separator}{urlencode(answer)}"
        handler._send(302, "text/plain", b"", headers=[("Location", location)])

    def _access_token(self, handler, form: dict) -> None:
        form = {k: v[0] for k, v in form.items()}
        claims, redirect_uri = self._codes.pop(form.get("code"), (None, None))  # good once
        if (
            form.get("grant_type") != "authorization_code"
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
            or form.get("redirect_uri") != redirect_uri
            or claims is None
        ):
            body = json.dumps({"error": "invalid_grant"}).encode()
            handler._send(400, "application/json", body)
            return
        token = {
            "access_token": sign_dev_token(claims),
            "token_type": "JWT",
            "expires_in": 3600,
            "scope": "user_id profile email",
            "refresh_token": secrets.token_urlsafe(16),
        }
        handler._send(200, "application/json", json.dumps(token).encode())

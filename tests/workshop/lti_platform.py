"""A course platform for tests: the LTI 1.3 side of an LMS, on this host, with a signing key
of its own. It starts a launch (a third-party initiated login at the tool), answers the
tool's authentication request with a signed ``id_token`` posted back by the browser, and
serves its public keyset. ``forge`` signs the next launches with a key that is not in the
keyset, as a platform impostor would. Its grade column (LTI Advantage, AGS) takes scores
from a tool that holds an access token, which its token URL grants to a JWT signed with a
key in the tool's published keyset.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Platform:
    """``Platform(hub_url)``; ``start()`` serves it on localhost (another site than the
    hub's 127.0.0.1, as a real course is); ``launch_url(person)`` is the course's link."""

    client_id = "labkit-test-tool"
    deployment_id = "deployment-1"
    course = "course-1"

    def __init__(self, hub_url: str) -> None:
        self.hub_url = hub_url
        self.key, self.kid = _key(), uuid.uuid4().hex
        self.rogue_key = _key()
        self.forge = False
        self.people: dict[str, dict] = {}
        self.launches: list[dict] = []  # the claims of every id_token it signed
        self.tokens: set[str] = set()
        self.scores: list[dict] = []  # every score a tool posted, as it came
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())

    @property
    def url(self) -> str:
        return f"http://localhost:{self.server.server_address[1]}"

    def settings(self) -> dict[str, str]:
        """What the instructor copies from the platform into ``up --lti FILE``."""
        return {"issuer": self.url, "client_id": self.client_id,
                "authorize_url": f"{self.url}/auth", "jwks_endpoint": f"{self.url}/jwks",
                "deployment_id": self.deployment_id, "context_id": self.course,
                "token_url": f"{self.url}/token"}

    @property
    def lineitem(self) -> str:
        return f"{self.url}/course-1/lineitems/lab?kind=lab"

    def enrol(self, person: str, name: str, email: str, role: str = "Learner",
              course: str = "", deployment: str = "") -> None:
        """A person in a course (the workshop's unless said) of a deployment of the tool."""
        self.people[person] = {"sub": f"user-{len(self.people) + 1001}", "name": name,
                               "given_name": name.split()[0], "email": email,
                               "role": MEMBERSHIP + role, "course": course or self.course,
                               "deployment": deployment or self.deployment_id}

    def launch_url(self, person: str, client_id: bool = True) -> str:
        """The course's link for ``person``: a page that posts the login to the tool, as
        Moodle and Canvas do (cross-site), with or without the optional client ID."""
        return f"{self.url}/launch?{urlencode({'person': person, 'client_id': int(client_id)})}"

    def start(self) -> Platform:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def id_token(self, person: str, nonce: str) -> str:
        who = self.people[person]
        now = int(time.time())
        lineitem = {"scope": [AGS + "scope/score"], "lineitem": self.lineitem}
        claims = {
            "iss": self.url, "aud": self.client_id, "sub": who["sub"], "iat": now,
            "exp": now + 300, "nonce": nonce, "name": who["name"],
            "given_name": who["given_name"], "email": who["email"],
            LTI + "message_type": "LtiResourceLinkRequest", LTI + "version": "1.3.0",
            LTI + "deployment_id": who["deployment"],
            LTI + "target_link_uri": f"{self.hub_url}/hub/",
            LTI + "resource_link": {"id": "containers-and-pods-lab"},
            LTI + "roles": [who["role"]],
            LTI + "context": {"id": who["course"], "label": "K8S101",
                              "title": "Pods underneath"},
            AGS + "claim/endpoint": lineitem,
        }
        self.launches.append(claims)
        key = self.rogue_key if self.forge else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    def _handler(self):
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet in the test's output
                pass

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/jwks":
                    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(platform.key.public_key(),
                                                             as_dict=True)
                    self._send(200, "application/json", json.dumps(
                        {"keys": [{**jwk, "kid": platform.kid, "alg": "RS256",
                                   "use": "sig"}]}))
                elif url.path == "/launch":  # the course's link: log in at the tool first
                    who = platform.people[query["person"]]
                    login = {"iss": platform.url, "login_hint": query["person"],
                             "target_link_uri": f"{platform.hub_url}/hub/",
                             "lti_deployment_id": who["deployment"],
                             "lti_message_hint": secrets.token_hex(8)}
                    if query.get("client_id") == "1":
                        login["client_id"] = platform.client_id
                    self._post_form(f"{platform.hub_url}/hub/lti13/oauth_login", login)
                elif url.path == "/auth":
                    self._authenticate(query)
                else:
                    self._send(404, "text/plain", "not here")

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if url.path == "/token":
                    self._grant({k: v[0] for k, v in parse_qs(body.decode()).items()})
                elif self.path == urlsplit(platform.lineitem).path + "/scores?kind=lab":
                    token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                    if token not in platform.tokens:
                        self._send(401, "text/plain", "no valid access token")
                    elif self.headers.get("Content-Type") != \
                            "application/vnd.ims.lis.v1.score+json":
                        self._send(415, "text/plain", "not a score")
                    else:
                        platform.scores.append(json.loads(body))
                        self._send(200, "application/json", "{}")
                else:
                    self._send(404, "text/plain", "not here")

            def _grant(self, form: dict[str, str]) -> None:
                """An access token for a JWT the tool signed (RFC 7523), checked against the
                tool's published keyset, as a platform does."""
                keys = jwt.PyJWKClient(f"{platform.hub_url}/hub/lti13/jwks")
                try:
                    assertion = form["client_assertion"]
                    claims = jwt.decode(
                        assertion, keys.get_signing_key_from_jwt(assertion).key,
                        algorithms=["RS256"], audience=f"{platform.url}/token")
                except (KeyError, jwt.PyJWTError) as error:
                    self._send(401, "application/json", json.dumps(
                        {"error": "invalid_client", "error_description": str(error)}))
                    return
                if (form.get("grant_type") != "client_credentials"
                        or claims.get("iss") != platform.client_id
                        or claims.get("sub") != platform.client_id
                        or AGS + "scope/score" not in form.get("scope", "").split()):
                    self._send(400, "application/json", json.dumps({"error": "invalid_request"}))
                    return
                token = secrets.token_urlsafe(16)
                platform.tokens.add(token)
                self._send(200, "application/json", json.dumps(
                    {"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                     "scope": AGS + "scope/score"}))

            def _authenticate(self, query: dict[str, str]) -> None:
                """The tool's OIDC authentication request, checked as a platform must."""
                expected = {"response_type": "id_token", "scope": "openid",
                            "response_mode": "form_post", "prompt": "none",
                            "client_id": platform.client_id,
                            "redirect_uri": f"{platform.hub_url}/hub/lti13/oauth_callback"}
                wrong = [k for k, v in expected.items() if query.get(k) != v]
                person = query.get("login_hint", "")
                if wrong or person not in platform.people or not query.get("nonce"):
                    self._send(400, "text/plain", f"bad authentication request: {wrong}")
                    return
                token = platform.id_token(person, query["nonce"])
                self._post_form(expected["redirect_uri"],
                                {"id_token": token, "state": query.get("state", "")})

            def _post_form(self, action: str, fields: dict[str, str]) -> None:
                """A page whose form the browser posts at once, to another site."""
                inputs = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
                                 for k, v in fields.items())
                self._send(200, "text/html", (
                    f'<form method="post" action="{html.escape(action)}">'
                    f"{inputs}</form><script>document.forms[0].submit()</script>"))

            def _send(self, status: int, kind: str, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler

"""Grades back to the course (LTI Advantage, Assignment and Grade Services 2.0): each
learner's exercises passed, out of the catalog's, sent as a score to the course's grade
column for the link they launched from.

The tool has a key pair of its own, made at ``up --lti`` and kept in the workshop's state
directory; the hub publishes its public half (``/hub/lti13/jwks``), which the platform
reads to check the tool's requests. To send scores the tool asks the platform's token URL
for an access token with a JWT it signs (client credentials, RFC 7523), then posts one
score per learner to the line item their last launch named (kept by lti_people.py).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

from ..errors import LabError
from .lti_people import SCORE_SCOPE, people
from .settings import Workshop

SCORE_TYPE = "application/vnd.ims.lis.v1.score+json"
TIMEOUT = 20


def key_file(workshop: Workshop) -> Path:
    return Path(workshop.state) / "lti-tool-key.pem"


def make_tool_key(workshop: Workshop) -> None:
    """The tool's signing key (RSA 2048), readable by root only; made once a workshop."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    file = key_file(workshop)
    if file.exists():
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)


def _tool_key(workshop: Workshop):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(key_file(workshop).read_bytes(), password=None)


def key_id(workshop: Workshop) -> str:
    return f"labkit-{workshop.id}"


def tool_jwks(workshop: Workshop) -> dict:
    """The tool's public keyset, as the platform reads it."""
    import jwt

    public = jwt.algorithms.RSAAlgorithm.to_jwk(_tool_key(workshop).public_key(), as_dict=True)
    return {"keys": [{**public, "kid": key_id(workshop), "alg": "RS256", "use": "sig"}]}


def scores_url(lineitem: str) -> str:
    """A line item's scores: ``/scores`` after its path, its query kept (AGS §3.4).

    >>> scores_url("https://lms.example/course/7/lineitems/3?type=lab")
    'https://lms.example/course/7/lineitems/3/scores?type=lab'
    """
    parts = urlsplit(lineitem)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/scores"))


def score(sub: str, passed: int, total: int, now: datetime | None = None) -> dict:
    """One learner's score: exercises passed out of the catalog's."""
    now = now or datetime.now(timezone.utc)
    return {"userId": sub, "scoreGiven": passed, "scoreMaximum": total,
            "activityProgress": "Completed" if passed == total else "InProgress",
            "gradingProgress": "FullyGraded",
            "timestamp": now.isoformat(timespec="milliseconds"),
            "comment": f"{passed} of {total} exercises of the lab passed"}


def _call(request: urllib.request.Request, what: str) -> bytes:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
            return answer.read()
    except urllib.error.HTTPError as error:
        said = error.read().decode(errors="replace")[:200].strip()
        raise LabError(f"The course's platform refused {what} (HTTP {error.code}"
                       f"{': ' + said if said else ''}): check that the tool's keyset URL "
                       "and the token_url in the platform file are the ones registered.") \
            from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise LabError(f"The course's platform did not answer {what} ({reason}): check "
                       "the token_url in the platform file and that this host reaches it.") \
            from None


def access_token(workshop: Workshop) -> str:
    """An access token for scores, from the platform's token URL (client credentials with
    a JWT the tool signs)."""
    import jwt

    token_url = workshop.lti.get("token_url")
    if not token_url:
        raise LabError("The platform file gives no token_url, where the tool asks for the "
                       "right to send scores: add the platform's access token URL to it and "
                       "start the workshop with it.")
    now = int(time.time())
    assertion = jwt.encode({"iss": workshop.lti["client_id"], "sub": workshop.lti["client_id"],
                            "aud": token_url, "iat": now, "exp": now + 300,
                            "jti": uuid.uuid4().hex},
                           _tool_key(workshop), algorithm="RS256",
                           headers={"kid": key_id(workshop)})
    body = urlencode({"grant_type": "client_credentials",
                      "client_assertion_type":
                          "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                      "client_assertion": assertion, "scope": SCORE_SCOPE}).encode()
    answer = _call(urllib.request.Request(token_url, data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}),
        "an access token")
    try:
        return json.loads(answer)["access_token"]
    except (ValueError, KeyError, TypeError):
        raise LabError("The course's platform answered the token request without an "
                       "access_token: check the token_url in the platform file.") from None


def send_scores(workshop: Workshop, rows: list[dict]) -> str:
    """Send each launched learner's score (``rows`` as progress.class_rows makes them);
    returns what was sent, as lines to print."""
    if not workshop.lti:
        raise LabError("This workshop is not entered from a course: scores go back only to "
                       "the course of up --lti FILE; ./lab workshop grades writes the CSV.")
    by_learner = {row["learner"]: row for row in rows}
    to_send = {p["name"]: p for p in people(workshop).values()
               if p.get("lineitem") and p["name"] in by_learner}
    if not to_send:
        return ("No scores sent: no learner has launched from a link with a grade column "
                "yet.")
    token = access_token(workshop)
    lines = []
    for learner, where in sorted(to_send.items()):
        row = by_learner[learner]
        body = json.dumps(score(where["sub"], row["passed"], row["total"])).encode()
        try:
            _call(urllib.request.Request(scores_url(where["lineitem"]), data=body, headers={
                "Content-Type": SCORE_TYPE, "Authorization": f"Bearer {token}"}),
                f"{learner}'s score")
        except LabError as error:
            if not lines:
                raise
            sent = ", ".join(line.split(":")[0].strip() for line in lines)
            raise LabError(f"{error} (sent before it: {sent})") from None
        lines.append(f"  {learner}: {row['passed']} of {row['total']}")
    return f"Sent {len(lines)} score(s) to the course:\n" + "\n".join(lines)

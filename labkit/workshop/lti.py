"""Entering a workshop from a course (LTI 1.3): the platform's settings as the instructor
gives them to ``up --lti FILE``, and how a launch's claims become a learner's name.

The course's platform (Moodle, Canvas, Open edX, ...) is an OpenID provider: a launch is
a login the platform signs (an ``id_token``, RS256, its key in the platform's JWKS). The
hub checks it with jupyterhub-ltiauthenticator (``lti_login.py``); what is decided here
needs no hub and is tested on its own.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ..errors import LabError
from .settings import ADMIN, LEARNER_RE

FIELDS = {
    "issuer": "the platform's issuer (its 'iss' claim), e.g. https://moodle.example.edu",
    "client_id": "the client ID the platform gave this tool when it was registered",
    "authorize_url": "the platform's authentication request (OIDC auth) endpoint",
    "jwks_endpoint": "the platform's public keyset (JWKS) URL",
}
"""What a platform file must name: every platform shows these four on its tool's page."""

ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
TEACHING_ROLES = (
    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
    "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#",  # its sub-roles (TAs)
)
"""Context roles (LTI 1.3 §A.2.3) whose launch opens the class board, not a node."""


def load_platform(path: str | Path) -> dict[str, str]:
    """The platform's settings from a YAML file, or one sentence on what is wrong in it."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise LabError(f"The LTI platform file {path} cannot be read ({error.strerror}): "
                       "give a YAML file naming " + ", ".join(FIELDS) + ".") from None
    try:
        settings = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise LabError(f"The LTI platform file {path} is not valid YAML{where}: fix it "
                       "(docs/workshop.md shows one).") from None
    if not isinstance(settings, dict):
        raise LabError(f"The LTI platform file {path} holds no settings: it needs "
                       + ", ".join(FIELDS) + " (docs/workshop.md shows one).")
    missing = [name for name in FIELDS if not settings.get(name)]
    if missing:
        raise LabError(f"The LTI platform file {path} does not give {missing[0]} "
                       f"({FIELDS[missing[0]]}): add it.")
    unknown = sorted(set(settings) - set(FIELDS))
    if unknown:
        raise LabError(f"The LTI platform file {path} has {unknown[0]!r}, which labkit does "
                       "not read: remove it (it reads " + ", ".join(FIELDS) + ").")
    platform = {name: str(settings[name]).strip() for name in FIELDS}
    for name in ("issuer", "authorize_url", "jwks_endpoint"):
        parts = urlsplit(platform[name])
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise LabError(f"{name} in {path} is {platform[name]!r}, not a URL: give the "
                           "https:// address the platform shows for it.")
    return platform


def is_teaching(claims: dict) -> bool:
    """Whether the launch comes from someone teaching the course (an instructor or TA)."""
    roles = claims.get(ROLES) or []
    return any(role.startswith(TEACHING_ROLES) for role in roles if isinstance(role, str))


def learner_name(claims: dict) -> str:
    """A learner's name on the hub: readable from their name in the course, made unique by
    their platform's stable id for them (``iss`` and ``sub``), held to LEARNER_RE so that it
    names their node and volume as it is. The same person gets the same name every launch,
    so their work volume comes back."""
    shown = (claims.get("given_name") or claims.get("name")
             or str(claims.get("email") or "").split("@")[0] or "learner")
    ascii_name = unicodedata.normalize("NFKD", str(shown)).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:20].rstrip("-")
    if not stem or not stem[0].isalpha():
        stem = f"learner-{stem}".rstrip("-")[:20]
    identity = f"{claims.get('iss', '')}\n{claims.get('sub', '')}".encode()
    name = f"{stem}-{hashlib.sha256(identity).hexdigest()[:6]}"
    assert LEARNER_RE.fullmatch(name) and name != ADMIN, name
    return name


def tool_urls(hub_url: str) -> dict[str, str]:
    """What the platform's administrator registers for this tool."""
    return {
        "login initiation URL": f"{hub_url}/hub/lti13/oauth_login",
        "redirect URI": f"{hub_url}/hub/lti13/oauth_callback",
        "target link URI": f"{hub_url}/hub/",
        "tool configuration (JSON)": f"{hub_url}/hub/lti13/config",
    }

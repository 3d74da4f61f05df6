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
    "deployment_id": "the deployment ID the platform gave when the tool was added",
}
"""What a platform file must name: the platform shows each on its tool's page. A launch
from another deployment of the same tool (another teacher adding it elsewhere) is refused."""
OPTIONAL = {
    "context_id": "the course's id (its launches' context claim): only that course enters",
    "token_url": "the platform's access token URL, for sending grades back (lti_scores.py)",
}

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
ROLES = CLAIM + "roles"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
TEACHING = f"{MEMBERSHIP}#Instructor"
ASSISTING = f"{MEMBERSHIP}/Instructor#TeachingAssistant"
"""The course's Instructor (a context role, LTI 1.3 §A.2.3), and the Instructor sub-roles
whose names begin TeachingAssistant: their launch opens the class board, not a node. The
other sub-roles of Instructor (Grader, GuestInstructor, ...) enter as learners."""


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
    unknown = sorted(set(settings) - set(FIELDS) - set(OPTIONAL))
    if unknown:
        raise LabError(f"The LTI platform file {path} has {unknown[0]!r}, which labkit does "
                       "not read: remove it (it reads " + ", ".join([*FIELDS, *OPTIONAL])
                       + ").")
    platform = {name: str(settings[name]).strip() for name in [*FIELDS, *OPTIONAL]
                if settings.get(name)}
    for name in ("issuer", "authorize_url", "jwks_endpoint", "token_url"):
        if name not in platform:
            continue
        parts = urlsplit(platform[name])
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise LabError(f"{name} in {path} is {platform[name]!r}, not a URL: give the "
                           "https:// address the platform shows for it.")
    return platform


def is_teaching(claims: dict) -> bool:
    """Whether the launch comes from someone teaching the course (an instructor or TA)."""
    roles = [role for role in claims.get(ROLES) or [] if isinstance(role, str)]
    return any(role == TEACHING or role.startswith(ASSISTING) for role in roles)


def refusal(claims: dict, platform: dict[str, str]) -> str | None:
    """Why a verified launch does not enter this workshop, in one sentence, or None."""
    kind = claims.get(CLAIM + "message_type")
    if kind != "LtiResourceLinkRequest":
        return (f"This launch is a {kind}, and the workshop is a link to open, not content "
                "to pick: add it to the course as a link to the tool (no deep linking).")
    if claims.get(CLAIM + "deployment_id") != platform["deployment_id"]:
        return ("This launch comes from another deployment of the tool than the workshop's: "
                "enter from the course the instructor set the workshop up for.")
    course = (claims.get(CLAIM + "context") or {}).get("id")
    if platform.get("context_id") and course != platform["context_id"]:
        return ("This launch comes from another course than the workshop's: enter from the "
                "course the instructor set the workshop up for.")
    if not claims.get("sub"):
        return ("The course sent this launch without saying who it is for (an anonymous "
                "launch): it cannot open a learner's own node.")
    return None


def learner_name(claims: dict) -> str:
    """A new learner's name on the hub: readable from their name in the course, made unique
    by their platform's stable id for them (``iss`` and ``sub``), held to LEARNER_RE so that
    it names their node and volume as it is. Made at their first launch and kept for them
    (lti_people.py): a name they change in the course later does not change it."""
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
        "public keyset URL": f"{hub_url}/hub/lti13/jwks",
    }

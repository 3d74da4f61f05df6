"""Who has entered from the course: for each person the platform launched (its issuer and
their ``sub``, which the platform keeps for them), their name on the hub, made at their
first launch, and the grade column their last launch named (for lti_scores.py). One JSON
file in the workshop's state directory, written by the hub, readable by root only.
"""

from __future__ import annotations

import json
from pathlib import Path

from .lti import learner_name
from .settings import Workshop, write_private_json

AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


def people_file(workshop: Workshop) -> Path:
    return Path(workshop.state) / "lti-people.json"


def people(workshop: Workshop) -> dict[str, dict]:
    """Everyone who has launched: their identity -> name, sub and line item (or None)."""
    try:
        return json.loads(people_file(workshop).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def enter(workshop: Workshop, claims: dict) -> str:
    """The learner's name for this launch (the one they got at their first), kept with the
    line item this launch offers to score."""
    known = people(workshop)
    identity = f"{claims['iss']} {claims['sub']}"
    person = known.get(identity) or {"name": learner_name(claims), "sub": claims["sub"]}
    endpoint = claims.get(AGS_CLAIM) or {}
    if endpoint.get("lineitem") and SCORE_SCOPE in (endpoint.get("scope") or []):
        person["lineitem"] = endpoint["lineitem"]
    known[identity] = person
    write_private_json(people_file(workshop), known)
    return person["name"]

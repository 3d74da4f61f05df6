"""Entering from a course (LTI 1.3), the parts that need no hub: the platform file the
instructor writes, its bad input in one sentence, which launches enter and who they make
(a learner's name that names their node and stays theirs, or the instructor), and the
score that goes back. The launch itself, signed by a platform and checked by a real hub in
Chromium, and the score sent to it: tests/workshop/test_workshop_lti.py."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from labkit.errors import LabError
from labkit.workshop import hub, lti_people, lti_scores
from labkit.workshop.lti import (
    FIELDS,
    is_teaching,
    learner_name,
    load_platform,
    refusal,
    tool_urls,
)
from labkit.workshop.settings import ADMIN, LEARNER_RE, Workshop

GOOD = {"issuer": "https://moodle.example.edu", "client_id": "aZ3x9",
        "authorize_url": "https://moodle.example.edu/mod/lti/auth.php",
        "jwks_endpoint": "https://moodle.example.edu/mod/lti/certs.php",
        "deployment_id": "3"}
ROLES = "https://purl.imsglobal.org/spec/lti/claim/roles"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"


def write(tmp_path, text: str):
    path = tmp_path / "platform.yaml"
    path.write_text(text)
    return path


def test_a_platform_file_gives_five_settings_and_may_give_two_more(tmp_path):
    assert load_platform(write(tmp_path, yaml.safe_dump(GOOD))) == GOOD
    more = {**GOOD, "context_id": "42", "token_url": "https://moodle.example.edu/mod/lti/token.php"}
    assert load_platform(write(tmp_path, yaml.safe_dump(more))) == more


@pytest.mark.parametrize("text, words", [
    ("issuer: [unclosed", "is not valid YAML at line 1: fix it"),
    ("just a string", "holds no settings: it needs issuer, client_id"),
    (yaml.safe_dump({k: v for k, v in GOOD.items() if k != "jwks_endpoint"}),
     "does not give jwks_endpoint (the platform's public keyset (JWKS) URL): add it."),
    (yaml.safe_dump({**GOOD, "client_id": ""}), "does not give client_id"),
    (yaml.safe_dump({**GOOD, "secret": "x"}), "has 'secret', which labkit does not read"),
    (yaml.safe_dump({**GOOD, "issuer": "moodle.example.edu"}),
     "issuer in {path} is 'moodle.example.edu', not a URL: give the https:// address"),
    (yaml.safe_dump({**GOOD, "token_url": "token.php"}), "token_url in {path} is 'token.php'"),
    (yaml.safe_dump({k: v for k, v in GOOD.items() if k != "deployment_id"}),
     "does not give deployment_id (the deployment ID the platform gave"),
])
def test_bad_platform_files_get_one_sentence(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(LabError) as raised:
        load_platform(path)
    said = str(raised.value)
    assert words.format(path=path) in said and "\n" not in said


def test_a_missing_platform_file(tmp_path):
    with pytest.raises(LabError, match=r"cannot be read \(No such file or directory\): give "
                                       "a YAML file naming issuer, client_id"):
        load_platform(tmp_path / "nowhere.yaml")


def test_up_says_in_one_sentence_what_does_not_go_with_lti(tmp_path):
    for options, flag in (({"names": ["ada"]}, "--names"), ({"code": "a-long-code"}, "--code")):
        with pytest.raises(LabError, match=f"^{flag} and --lti do not go together: with --lti "
                                           "the course's platform decides who enters"):
            hub.up(learners=2, lti=GOOD, **options)


def test_the_cli_reads_the_platform_file_before_anything_starts(tmp_path):
    env = {**os.environ, "LABKIT_WORKSHOP_STATE": str(tmp_path / "state")}
    said = subprocess.run([sys.executable, "-m", "labkit.cli", "workshop", "up", "--lti",
                           str(write(tmp_path, "issuer: https://x.example\n"))],
                          env=env, capture_output=True, text=True)
    assert said.returncode == 1 and said.stdout == ""
    assert said.stderr.startswith("labkit: The LTI platform file ") and said.stderr.count(
        "\n") == 1
    assert not (tmp_path / "state").exists()  # nothing made


CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"


def claims(**more) -> dict:
    return {"iss": "https://moodle.example.edu", "sub": "12345", **more}


def launch(**more) -> dict:
    return claims(**{CLAIM + "message_type": "LtiResourceLinkRequest",
                     CLAIM + "deployment_id": "3", CLAIM + "context": {"id": "42"}, **more})


def test_which_launches_enter():
    assert refusal(launch(), GOOD) is None
    assert refusal(launch(), {**GOOD, "context_id": "42"}) is None
    assert "another course than the workshop's" in refusal(launch(), {**GOOD, "context_id": "7"})
    assert "another deployment of the tool" in refusal(launch(**{CLAIM + "deployment_id": "4"}),
                                                       GOOD)
    assert "is a LtiDeepLinkingRequest, and the workshop is a link to open" in refusal(
        launch(**{CLAIM + "message_type": "LtiDeepLinkingRequest"}), GOOD)
    assert "an anonymous launch" in refusal(launch(sub=""), GOOD)


@pytest.mark.parametrize("given, stem", [
    ({"given_name": "Ada", "name": "Ada Lovelace"}, "ada"),
    ({"name": "Zoë Ångström-Ødegaard"}, "zoe-angstrom-degaard"),
    ({"email": "j.doe@example.edu"}, "j-doe"),
    ({"given_name": "42"}, "learner-42"),
    ({"given_name": "李"}, "learner"),
    ({}, "learner"),
    ({"given_name": "Maximiliana-Josephina-Theresia"}, "maximiliana-josephin"),
])
def test_a_learner_is_named_from_the_course_and_kept_apart_by_their_id(given, stem):
    name = learner_name(claims(**given))
    assert LEARNER_RE.fullmatch(name) and name != ADMIN
    assert name.rsplit("-", 1)[0] == stem and len(name.rsplit("-", 1)[1]) == 6


def test_the_same_person_gets_the_same_name_and_namesakes_differ():
    ada = learner_name(claims(given_name="Ada"))
    assert learner_name(claims(given_name="Ada")) == ada
    assert learner_name(claims(given_name="Ada", sub="67890")) != ada
    assert learner_name(claims(given_name="Ada", iss="https://canvas.example")) != ada


def test_teaching_roles_are_the_instructor():
    assert is_teaching({ROLES: [f"{MEMBERSHIP}#Instructor"]})
    assert is_teaching({ROLES: [f"{MEMBERSHIP}/Instructor#TeachingAssistant"]})
    assert is_teaching({ROLES: [f"{MEMBERSHIP}/Instructor#TeachingAssistantSection"]})
    assert not is_teaching({ROLES: [f"{MEMBERSHIP}#InstructorX"]})
    assert not is_teaching({ROLES: [f"{MEMBERSHIP}/Instructor#Grader"]})
    assert not is_teaching({ROLES: [f"{MEMBERSHIP}#Learner"]})
    assert not is_teaching({ROLES: [f"{MEMBERSHIP}#Mentor", 7]})
    assert not is_teaching({})


def test_the_urls_to_register_are_the_hubs():
    urls = tool_urls("https://lab.example.edu")
    assert urls["login initiation URL"] == "https://lab.example.edu/hub/lti13/oauth_login"
    assert urls["redirect URI"] == "https://lab.example.edu/hub/lti13/oauth_callback"
    assert urls["public keyset URL"] == "https://lab.example.edu/hub/lti13/jwks"
    assert set(FIELDS) == {"issuer", "client_id", "authorize_url", "jwks_endpoint",
                           "deployment_id"}


AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCORES = {"scope": [lti_people.SCORE_SCOPE], "lineitem": "https://lms.example/li/1"}


def test_a_learner_keeps_the_name_of_their_first_launch(tmp_path):
    workshop = Workshop(state=str(tmp_path), lti=GOOD)
    first = lti_people.enter(workshop, launch(given_name="Ada"))
    assert first.startswith("ada-")
    assert lti_people.enter(workshop, launch(given_name="Augusta", **{AGS: SCORES})) == first
    assert lti_people.enter(workshop, launch(given_name="Ada", sub="777")) != first
    [ada] = [p for p in lti_people.people(workshop).values() if p["name"] == first]
    assert ada == {"name": first, "sub": "12345", "lineitem": "https://lms.example/li/1"}
    assert oct(lti_people.people_file(workshop).stat().st_mode & 0o777) == "0o600"


def test_a_score_is_exercises_passed_of_the_catalogs():
    from datetime import datetime, timezone

    then = datetime(2026, 12, 6, 9, 30, tzinfo=timezone.utc)
    assert lti_scores.score("12345", 3, 31, then) == {
        "userId": "12345", "scoreGiven": 3, "scoreMaximum": 31,
        "activityProgress": "InProgress", "gradingProgress": "FullyGraded",
        "timestamp": "2026-12-06T09:30:00.000+00:00",
        "comment": "3 of 31 exercises of the lab passed"}
    assert lti_scores.score("12345", 31, 31, then)["activityProgress"] == "Completed"


def test_scores_need_a_course_and_its_token_url(tmp_path):
    rows = [{"learner": "ada-1", "passed": 1, "total": 31}]
    with pytest.raises(LabError, match=r"^This workshop is not entered from a course"):
        lti_scores.send_scores(Workshop(state=str(tmp_path)), rows)
    workshop = Workshop(state=str(tmp_path), lti=GOOD)
    assert lti_scores.send_scores(workshop, rows).startswith("No scores sent: no learner")
    name = lti_people.enter(workshop, launch(given_name="Ada", **{AGS: SCORES}))
    with pytest.raises(LabError, match=r"^The platform file gives no token_url"):
        lti_scores.send_scores(workshop, [{"learner": name, "passed": 1, "total": 31}])

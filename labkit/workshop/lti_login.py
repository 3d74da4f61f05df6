"""The hub's login for a workshop entered from a course (``up --lti FILE``):
jupyterhub-ltiauthenticator checks the platform's signed launch (its keyset, issuer,
client ID, nonce and state); labkit decides whether the launch enters this workshop and who
it is (``lti.py``, ``lti_people.py``), keeps the handshake working across sites, and says
why a launch is refused.
"""

from __future__ import annotations

import json
import os

from jupyterhub.handlers import BaseHandler
from ltiauthenticator.lti13.auth import LTI13Authenticator
from ltiauthenticator.lti13.error import LoginError
from ltiauthenticator.lti13.handlers import LTI13CallbackHandler, LTI13LoginInitHandler
from tornado import web

from . import lti_people, lti_scores
from .lti import is_teaching, refusal
from .settings import ADMIN, Workshop

LOST_COOKIES = ("OAuth state missing from cookies", "Missing nonce state cookie",
                "OAuth state mismatch", "OAuth nonce mismatch")
"""What ltiauthenticator says when the browser did not bring the handshake's cookies back."""


def this_workshop() -> Workshop:
    """The workshop the hub serves (its settings file, named in the hub's environment)."""
    workshop = Workshop.load(os.path.dirname(os.environ["LABKIT_WORKSHOP_SETTINGS"]))
    assert workshop is not None
    return workshop


class CrossSiteLoginInitHandler(LTI13LoginInitHandler):
    """The first step of a launch. Its state and nonce cookies come back to the hub on the
    platform's cross-site form POST, which browsers that default cookies to SameSite=Lax
    (Chromium's) send only with ``SameSite=None`` cookies, and those only when ``Secure``:
    so the hub is served over https (or on this host's loopback, which browsers count as
    secure)."""

    def _set_oauth_cookie(self, key: str, value) -> None:
        self._set_cookie(key, value, expires_days=1, httponly=True, encrypted=True,
                         samesite="None", secure=True)

    def post(self):
        issuer = self.get_argument("iss", "")
        if not issuer:
            raise web.HTTPError(400, "This workshop is entered from the course: open it "
                                "from the course's page in your learning platform.")
        if issuer != self.authenticator.issuer:
            raise web.HTTPError(400, f"This launch comes from {issuer}, and the workshop is "
                                "entered from another platform: open it from the course the "
                                "instructor set the workshop up for.")
        client = self.get_argument("client_id", "")
        if client and client not in self.authenticator.client_id:
            raise web.HTTPError(400, "This launch names another tool's client ID than the "
                                "workshop's: ask your instructor to check the client_id given "
                                "to ./lab workshop up --lti.")
        return super().post()

    get = post

    def _get_optional_arg(self, args, arg):
        """A platform may leave the client ID out of the login (LTI 1.3 §4.1): it is then
        the one the workshop was given."""
        if arg == "client_id" and not args.get(arg):
            return next(iter(self.authenticator.client_id))
        return super()._get_optional_arg(args, arg)


class ExplainedCallbackHandler(LTI13CallbackHandler):
    """The launch itself: a refusal says why and who can mend it."""

    async def post(self):
        try:
            await super().post()
        except web.HTTPError as error:
            if error.status_code not in (400, 401):
                raise
            said = error.get_message()
            if said.startswith("This launch") or said.startswith("The course sent"):
                raise  # labkit's own sentence (CourseAuthenticator)
            if said in LOST_COOKIES:
                raise web.HTTPError(400, (
                    f"Your browser did not bring this launch's cookies back ({said}): open "
                    "the activity in a window of its own rather than inside the course's "
                    "page, and launch it once at a time.")) from None
            raise web.HTTPError(error.status_code, (
                f"The course's launch was refused ({said}): ask your instructor to check the "
                "platform's settings given to ./lab workshop up --lti, then launch again "
                "from the course.")) from None


class ToolKeysHandler(BaseHandler):
    """The tool's public keyset, which the platform reads to check the tool's requests for
    sending scores (lti_scores.py)."""

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps(lti_scores.tool_jwks(this_workshop())))


class CourseAuthenticator(LTI13Authenticator):
    """A launch with a teaching role is the instructor (the class board, no seat); any
    other is a learner, under the name they got at their first launch. A launch from
    another deployment or course, for content picking, or anonymous is refused."""

    login_handler = CrossSiteLoginInitHandler
    callback_handler = ExplainedCallbackHandler

    async def authenticate(self, handler, data=None):
        claims = data or {}
        workshop = this_workshop()
        why = refusal(claims, workshop.lti)
        if why:
            raise LoginError(why)
        if is_teaching(claims):
            return {"name": ADMIN}
        return {"name": lti_people.enter(workshop, claims)}

    def get_handlers(self, app):
        return [*super().get_handlers(app), ("/lti13/jwks", ToolKeysHandler)]

"""The hub's login for a workshop entered from a course (``up --lti FILE``):
jupyterhub-ltiauthenticator checks the platform's signed launch (its keyset, issuer,
client ID, nonce and state); labkit decides who the launch is (``lti.py``) and keeps the
handshake working across sites.
"""

from __future__ import annotations

from ltiauthenticator.lti13.auth import LTI13Authenticator
from ltiauthenticator.lti13.error import LoginError
from ltiauthenticator.lti13.handlers import LTI13CallbackHandler, LTI13LoginInitHandler
from tornado import web

from .lti import is_teaching, learner_name
from .settings import ADMIN


class CrossSiteLoginInitHandler(LTI13LoginInitHandler):
    """The first step of a launch. Its state and nonce cookies come back to the hub on the
    platform's cross-site form POST, which browsers send only with ``SameSite=None``
    cookies, and those only when ``Secure``: so the hub is served over https (or on this
    host's loopback, which browsers count as secure)."""

    def _set_oauth_cookie(self, key: str, value) -> None:
        self._set_cookie(key, value, expires_days=1, httponly=True, encrypted=True,
                         samesite="None", secure=True)

    def post(self):
        if not self.get_argument("iss", ""):
            raise web.HTTPError(400, "This workshop is entered from the course: open it "
                                "from the course's page in your learning platform.")
        return super().post()

    get = post


class ExplainedCallbackHandler(LTI13CallbackHandler):
    """The launch itself: a refusal says why and who can mend it."""

    async def post(self):
        try:
            await super().post()
        except web.HTTPError as error:
            if error.status_code not in (400, 401):
                raise
            raise web.HTTPError(error.status_code, (
                f"The course's launch was refused ({error.log_message}): ask your "
                "instructor to check the platform's settings given to ./lab workshop up "
                "--lti, then launch again from the course.")) from None


class CourseAuthenticator(LTI13Authenticator):
    """A launch with a teaching role is the instructor (the class board, no seat); any
    other is a learner, named from the course and their platform's id for them."""

    login_handler = CrossSiteLoginInitHandler
    callback_handler = ExplainedCallbackHandler

    async def authenticate(self, handler, data=None):
        claims = data or {}
        if is_teaching(claims):
            return {"name": ADMIN}
        if not claims.get("sub"):
            raise LoginError("The course sent this launch without saying who it is for (an "
                             "anonymous launch): it cannot open a learner's own node.")
        return {"name": learner_name(claims)}

"""The class board: a JupyterHub service the hub starts beside itself, behind the hub's
login, for the instructor only (the hub's admin role holds the scope to reach a service;
a learner's does not). Its page fetches the board's state every 2 seconds, so a check a
learner runs shows within seconds; the state is read anew at each fetch.

    python -m labkit.workshop.board_service      (started by the hub: see
                                                   workshop/jupyterhub_config.py)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import docker
from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import escape, ioloop, web

from .board import NodeUsage, read_board
from .settings import Workshop

PAGE = Path(__file__).with_name("board.html")


class BoardPage(HubOAuthenticated, web.RequestHandler):
    @web.authenticated
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        # The page's fetches carry this token (JupyterHub accepts its cookie for them only so).
        self.write(PAGE.read_text().replace("{{xsrf}}", escape.xhtml_escape(self.xsrf_token)))


class BoardState(HubOAuthenticated, web.RequestHandler):
    def initialize(self, workshop: Workshop, usage: NodeUsage) -> None:
        self.workshop = workshop
        self.usage = usage

    @web.authenticated
    def get(self) -> None:
        client = docker.from_env()
        try:
            state = read_board(client, self.workshop, self.usage)
        finally:
            client.close()
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.write(json.dumps(state))


def make_app(workshop: Workshop, prefix: str) -> web.Application:
    usage = NodeUsage()
    return web.Application([
        (prefix, BoardPage),
        (url_path_join(prefix, "api/state"), BoardState, {"workshop": workshop, "usage": usage}),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ], cookie_secret=os.urandom(32))


def main() -> None:
    workshop = Workshop.load(os.path.dirname(os.environ["LABKIT_WORKSHOP_SETTINGS"]))
    if workshop is None:
        raise SystemExit("board: the workshop's settings are gone")
    prefix = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    where = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    make_app(workshop, prefix).listen(where.port, where.hostname)
    ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()

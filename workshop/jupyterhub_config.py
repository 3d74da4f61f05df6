"""JupyterHub's configuration for a workshop on one host (``labkit workshop up`` starts
the hub with it): JupyterHub's own shared-password login, DockerSpawner's learner nodes,
jupyterhub-idle-culler. What varies (the workshop's id, image, codes, ports, limits) is
read from the settings file that ``up`` wrote, named by ``LABKIT_WORKSHOP_SETTINGS``.
"""

import asyncio
import os
import sys

import docker
from jupyterhub.authenticators.shared import SharedPasswordAuthenticator
from tornado import web

from labkit.workshop import work_disks
from labkit.workshop.nodes import ENVIRONMENT, HOSTNAME, NODE_PORT, host_config
from labkit.workshop.settings import ADMIN, LEARNER_RE, NODE_WORK, Workshop

c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)
BOARD = "/services/board/"
workshop = Workshop.load(os.path.dirname(os.environ["LABKIT_WORKSHOP_SETTINGS"]))
state = workshop.state

# The hub: the public proxy where the instructor said (127.0.0.1 unless --ip), the hub's
# own API on the workshop network's gateway, which is where the nodes reach it.
c.JupyterHub.ip = workshop.ip
c.JupyterHub.port = workshop.port
c.JupyterHub.hub_ip = workshop.hub_ip
c.JupyterHub.hub_port = workshop.hub_port
c.ConfigurableHTTPProxy.command = [workshop.proxy]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{workshop.proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = os.path.join(state, "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{os.path.join(state, 'jupyterhub.sqlite')}"
c.JupyterHub.cookie_secret_file = os.path.join(state, "cookie_secret")
c.JupyterHub.cleanup_servers = True  # the hub's end stops every node
c.JupyterHub.allow_named_servers = False
c.JupyterHub.active_server_limit = workshop.seats  # a login past the seats waits for one

# Logging in: one workshop code for the class (or a list of names with it), the
# instructor with a code of their own; or, with `up --lti FILE`, from the course's
# platform (LTI 1.3, labkit/workshop/lti_login.py): a teaching role is the instructor.
if workshop.lti:
    c.JupyterHub.authenticator_class = "labkit.workshop.lti_login.CourseAuthenticator"
    c.LTI13Authenticator.issuer = workshop.lti["issuer"]
    c.LTI13Authenticator.client_id = {workshop.lti["client_id"]}
    c.LTI13Authenticator.authorize_url = workshop.lti["authorize_url"]
    c.LTI13Authenticator.jwks_endpoint = workshop.lti["jwks_endpoint"]
    c.Authenticator.auto_login = True  # the hub's login page goes to "enter from the course"
else:
    c.JupyterHub.authenticator_class = SharedPasswordAuthenticator
    c.SharedPasswordAuthenticator.user_password = workshop.code
    c.SharedPasswordAuthenticator.admin_password = workshop.admin_code
c.Authenticator.admin_users = {ADMIN}
# A learner's name is what their node and volume are named after, as labkit names them
# (settings.LEARNER_RE: letters, digits, '-' and '_'): names are held to it, so Docker's
# names need no escaping (DockerSpawner would otherwise write '-' as '-2d').
c.Authenticator.username_pattern = f"^{LEARNER_RE.pattern}$"
if workshop.learners:
    c.Authenticator.allowed_users = set(workshop.learners)
else:  # anyone with the code, or anyone the course launches
    c.Authenticator.allow_all = True

# Learner nodes (labkit/workshop/nodes.py): privileged, limited in memory, CPU and
# processes, a cgroup namespace of their own, the engines' storage on tmpfs, the learner's
# work on a volume of theirs. NodeSpawner is DockerSpawner that first takes a warm node
# from the workshop's pool (`up --warm N`, labkit/workshop/warm.py), if one is ready.
c.JupyterHub.spawner_class = "labkit.workshop.spawner.NodeSpawner"
c.DockerSpawner.image = workshop.image
c.DockerSpawner.pull_policy = "never"  # built on this host, never pulled
c.DockerSpawner.name_template = workshop.prefix + "{username}"
c.DockerSpawner.network_name = workshop.network
c.DockerSpawner.use_internal_ip = False  # the proxy reaches a node on 127.0.0.1
c.DockerSpawner.host_ip = "127.0.0.1"
c.DockerSpawner.port = NODE_PORT
c.DockerSpawner.remove = True
c.DockerSpawner.mem_limit = workshop.memory
c.DockerSpawner.cpu_limit = workshop.cpus
c.DockerSpawner.notebook_dir = NODE_WORK
c.DockerSpawner.default_url = "/lab"
c.DockerSpawner.volumes = {workshop.prefix + "{username}-work": NODE_WORK}
c.DockerSpawner.escape = lambda name: name  # held to LEARNER_RE above
c.DockerSpawner.extra_host_config = host_config()
c.DockerSpawner.extra_create_kwargs = {"labels": workshop.labels("learner-node"),
                                       "hostname": HOSTNAME}
c.DockerSpawner.environment = {
    **ENVIRONMENT,
    "LABKIT_LEARNER": lambda spawner: spawner.user.name,
}
c.Spawner.start_timeout = 300  # a node starts its engine and loads the lab's images
c.Spawner.http_timeout = 180
c.Spawner.poll_interval = 10  # a node that died is noticed soon, and its learner can start afresh


def make_work_volume(spawner):
    """The learner's work volume, created with the workshop's marks before their first
    node (Docker would otherwise make it unlabelled), a file system of the workshop's work
    size under it (labkit/workshop/work_disks.py); kept when their node goes."""
    name = workshop.work_volume(spawner.user.name)
    client = docker.from_env()
    try:
        try:
            volume = client.volumes.get(name)
        except docker.errors.NotFound:
            volume = client.volumes.create(name, labels=workshop.labels("learner-work"))
        work_disks.attach(workshop, spawner.user.name, volume.attrs["Mountpoint"])
    finally:
        client.close()


async def before_a_node(spawner):
    """The instructor's account takes no seat: it has no node (its login opens the class
    board). A learner's node gets its work volume first (made beside the hub's event loop:
    a first work disk's mkfs must not hold up the rest of the class)."""
    if spawner.user.name == ADMIN:
        raise web.HTTPError(403, f"The {ADMIN} account has no learner node, so it takes no "
                            f"seat: the class board ({BOARD}) shows every learner's "
                            "exercises and node, the admin page (/hub/admin) starts and "
                            "stops their nodes.")
    await asyncio.to_thread(make_work_volume, spawner)


def landing_page(handler):
    """Where a login lands: the instructor on the class board, a learner on their node
    (the hub's default, an empty answer)."""
    user = handler.current_user
    return BOARD if user is not None and user.name == ADMIN else ""


c.Spawner.pre_spawn_hook = before_a_node
c.JupyterHub.default_url = landing_page

# labkit's services read the workshop's settings and speak to the same Docker as the hub.
SERVICE_ENV = {name: os.environ[name] for name in ("LABKIT_WORKSHOP_SETTINGS", "DOCKER_HOST")
               if name in os.environ}
# Idle nodes are stopped (their work volume stays); labkit's own service account can
# list, start, stop and reset learners for `labkit workshop` and the instructor's table;
# the class board (labkit/workshop/board_service.py) is a page of the hub's, behind its
# login: the admin role may reach services, a learner's may not.
c.JupyterHub.services = [
    {"name": "idle-culler",
     "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                 f"--timeout={workshop.idle_minutes * 60}"]},
    {"name": "labkit", "api_token": workshop.api_token},
    {"name": "board", "url": f"http://127.0.0.1:{workshop.board_port}",
     "command": [sys.executable, "-m", "labkit.workshop.board_service"],
     "environment": SERVICE_ENV, "oauth_no_confirm": True, "display": True},
]
if workshop.warm:  # the pool's keeper: starts warm nodes, within the seats
    c.JupyterHub.services.append(
        {"name": "warm-pool", "command": [sys.executable, "-m", "labkit.workshop.warm"],
         "environment": SERVICE_ENV})
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
    {"name": "labkit", "services": ["labkit"],
     "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"]},
]

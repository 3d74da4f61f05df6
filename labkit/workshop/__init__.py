"""Workshop mode: one JupyterHub on this host, one learner node (a privileged
Docker-in-Docker container with the whole lab) for each learner who logs in.

``labkit workshop up|down|status|reset|progress`` (and ``sudo ./lab workshop ...``,
which installs what the hub needs first) drive it; docs/workshop.md tells an
instructor how. The hub's own configuration is ``workshop/jupyterhub_config.py``.
"""

from .settings import Workshop

__all__ = ["Workshop"]

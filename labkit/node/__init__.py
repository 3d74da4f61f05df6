"""The node reader: what the kernel says about processes and cgroups.

Parsing is pure (text in, data out: :mod:`.procfs`, :mod:`.mounts`,
:mod:`.cgroupfs`); gathering the text is thin and pluggable (:mod:`.gather`);
:class:`.reader.Node` puts them together.
"""

from .reader import Node

__all__ = ["Node"]

"""Plain JSON for what labkit's objects return, and back.

Data (numbers, strings, lists, tuples, dicts, sets, dataclasses such as an
:class:`~labkit.model.Observation`, list subclasses such as a ``Watch``) is written as
itself, with a tag where JSON alone would lose the type; anything else (a container, a
pod, the node reader) is *live*: ``live(value)`` names it, and the name is written
instead, so that replaying it gives back a stand-in that answers the same calls.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from typing import Any

_SCALARS = (type(None), bool, int, float)


def type_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def find_type(name: str) -> type:
    module, _, qualname = name.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found


def encode(value: Any, live: Callable[[Any], str]) -> Any:
    """``value`` as JSON-ready data; ``live(obj)`` names what is not data."""
    if isinstance(value, _SCALARS) and type(value) in _SCALARS:
        return value
    if type(value) is str:
        return value
    if isinstance(value, str):  # a str subclass (a Sentence shows without quotes)
        return {"$str": type_name(type(value)), "v": str(value)}
    if type(value) is list:
        return [encode(item, live) for item in value]
    if type(value) is tuple:
        return {"$tuple": [encode(item, live) for item in value]}
    if type(value) in (set, frozenset):
        items = sorted((encode(item, live) for item in value), key=repr)
        return {"$set": items, "frozen": type(value) is frozenset}
    if type(value) is dict:
        if all(type(key) is str for key in value):
            return {"$dict": {key: encode(item, live) for key, item in value.items()}}
        return {"$pairs": [[encode(k, live), encode(v, live)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"$data": type_name(type(value)),
                "v": {f.name: encode(getattr(value, f.name), live)
                      for f in dataclasses.fields(value) if f.init}}
    if isinstance(value, list):  # a list that carries a little more (a Watch and its end)
        return {"$list": type_name(type(value)), "items": [encode(i, live) for i in value],
                "attrs": {k: encode(v, live) for k, v in vars(value).items()}}
    return {"$live": live(value)}


def decode(data: Any, live: Callable[[str], Any]) -> Any:
    """The value :func:`encode` wrote; ``live(name)`` gives the stand-in of a live object."""
    if isinstance(data, list):
        return [decode(item, live) for item in data]
    if not isinstance(data, dict):
        return data
    if "$tuple" in data:
        return tuple(decode(item, live) for item in data["$tuple"])
    if "$dict" in data:
        return {key: decode(item, live) for key, item in data["$dict"].items()}
    if "$pairs" in data:
        return {decode(k, live): decode(v, live) for k, v in data["$pairs"]}
    if "$set" in data:
        items = (decode(item, live) for item in data["$set"])
        return frozenset(items) if data["frozen"] else set(items)
    if "$str" in data:
        return find_type(data["$str"])(data["v"])
    if "$data" in data:
        cls = find_type(data["$data"])
        return cls(**{key: decode(item, live) for key, item in data["v"].items()})
    if "$list" in data:
        cls = find_type(data["$list"])
        made = cls.__new__(cls)
        list.extend(made, (decode(item, live) for item in data["items"]))
        made.__dict__.update({k: decode(v, live) for k, v in data["attrs"].items()})
        return made
    if "$live" in data:
        return live(data["$live"])
    raise ValueError(f"a recording holds a value labkit cannot read back: {sorted(data)}")

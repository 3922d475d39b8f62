"""Nested tuples, lists and dicts of values (torch's pytrees, without namedtuples): their structure and leaves.

``compile`` keys its calls by the structure of their arguments, and the ``func`` transforms take and return
gradients shaped like their arguments (a dict of parameters gives a dict of gradients).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def flatten(value: Any, leaves: list[Any]) -> Any:
    """The structure of nested tuples, lists and dicts, with their other contents appended to ``leaves``."""
    kind = type(value)
    if kind in (tuple, list):
        return (kind, tuple(flatten(v, leaves) for v in value))
    if kind is dict:
        return (dict, tuple(value), tuple(flatten(v, leaves) for v in value.values()))
    leaves.append(value)
    return None


def unflatten(tree: Any, leaves: Iterator[Any]) -> Any:
    """``flatten``'s inverse: the structure ``tree`` filled with the next values of ``leaves``."""
    if tree is None:
        return next(leaves)
    if tree[0] is dict:
        return dict(zip(tree[1], [unflatten(t, leaves) for t in tree[2]]))
    return tree[0](unflatten(t, leaves) for t in tree[1])

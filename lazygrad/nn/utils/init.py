"""``skip_init``: build a module without computing its initial values."""

from __future__ import annotations

import inspect
from typing import Any

from ...creation import empty
from ..module import Module


def skip_init(module_cls: type[Module], *args: Any, **kwargs: Any) -> Module:
    """``module_cls(*args, **kwargs)`` with its parameters and buffers left uninitialized, as ``torch.empty``.

    Initializers only add lazy draws to the graph; rebinding every tensor to an empty one drops them unrun,
    so the module costs no initialization work when it is later filled (``load_state_dict``, custom init).
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    module = module_cls(*args, **kwargs)
    for tensor in (*module.parameters(), *module.buffers()):
        tensor.data = empty(tensor.shape, dtype=tensor.dtype)
    return module

"""The ``Optimizer`` base: parameter groups, per-parameter state, zeroing and state dicts.

Subclasses write ``step`` with in-place Tensor ops under ``no_grad``. That only rebinds the parameters
and state tensors to new nodes; the end of ``step()`` is a step boundary, where the forward pass, the
backward pass and the update run as one program. Hyper-parameters enter that program as Python scalars through Tensor
arithmetic, so they are inputs and a new learning rate does not recompile.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .. import capture
from ..creation import tensor
from ..grad_mode import enable_grad, no_grad
from ..nn.module import zero_grads
from ..realization import step_boundary
from ..tensor import Tensor


class _Required:
    """Marks a hyper-parameter with no default (``lr`` of SGD in old torch versions)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Holds ``param_groups`` (dicts of params and hyper-parameters) and ``state`` (per-parameter dicts).

    torch's choices of update kernel (``foreach``, ``fused``, ``capturable``, ``differentiable``) change
    nothing here, where every update is part of one program; the groups keep them because torch's do, and
    programs print and save them.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        params = list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = {**param_group, "params": params}
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            group.setdefault(name, default)
        # Membership by identity: ``in`` on tensors would compare values (and realize them).
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Evaluate ``closure`` (with grad enabled) if given, then update every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            if capture.current() is not None:  # a compiled step: hyper-parameters become program inputs
                capture.note_optimizer(self)
                for group in self.param_groups:
                    self._update_group(capture.tag_group(group))
            else:
                for group in self.param_groups:
                    self._update_group(group)
        # The end of a step: forward, backward and this update run now as one program, so a loop that
        # reads rarely still runs one program per step (``lazygrad.auto_step(False)`` turns this off).
        step_boundary()
        return loss

    def _update_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def _gradients(group: dict[str, Any]) -> Iterator[tuple[Tensor, Tensor]]:
        """Each parameter of ``group`` that has a gradient, with the gradient to descend (negated to maximize)."""
        for param in group["params"]:
            if param.grad is not None:
                yield param, -param.grad if group["maximize"] else param.grad

    # ---- state dicts ----
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``, as in torch.

        State tensors are returned as they are (not copied), so the dict follows later steps.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for param in group["params"]:
                index.setdefault(id(param), len(index))
            groups.append({**{k: v for k, v in group.items() if k != "params"},
                           "params": [index[id(p)] for p in group["params"]]})
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state; state tensors are copied and cast to their parameter's dtype."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for ours, saved in zip(self.param_groups, saved_groups):
            if len(ours["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                                 "optimizer's group")
        params = {saved_id: param for ours, saved in zip(self.param_groups, saved_groups)
                  for saved_id, param in zip(saved["params"], ours["params"])}
        self.state = defaultdict(dict)
        with no_grad():
            for key, values in state_dict["state"].items():
                if key in params:
                    param = params[key]
                    self.state[param] = {name: _restore(name, value, param) for name, value in values.items()}
        for ours, saved in zip(self.param_groups, saved_groups):
            ours.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join([*lines, ")"])


def _restore(name: str, value: Any, param: Tensor) -> Any:
    """A loaded state entry: arrays become tensors, copied so that later steps leave the source dict alone."""
    if name == "step":
        return int(value.item()) if isinstance(value, Tensor) else value
    if isinstance(value, np.ndarray):
        value = tensor(value)
    if isinstance(value, Tensor):
        value = value.clone()
        return value.to(param.dtype) if value.dtype.is_floating_point else value
    return copy.deepcopy(value)

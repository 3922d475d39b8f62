"""``nn.Module``: the container of parameters, buffers and submodules, with torch's bookkeeping.

Attribute assignment sorts values into ``_parameters``, ``_buffers`` and ``_modules`` exactly as torch
does, so the traversal (``named_parameters``, ``state_dict``...) and the printed form match. Nothing
here computes a value: loading a state dict or converting dtypes only rebinds tensors to new nodes.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from .. import capture, dtypes
from ..creation import tensor as make_tensor
from ..grad_mode import no_grad
from ..tensor import Tensor
from .backward_hooks import BackwardHook
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter


def _converted(t: Tensor, dtype: dtypes.DType | None, target: Any) -> Tensor:
    if dtype is not None and t.dtype.is_floating_point:
        t = t.to(dtype)
    return t if target is None else t.to(target)


class _IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"

    __str__ = __repr__


class RemovableHandle:
    """Returned by hook registration; ``remove()`` (or leaving a ``with`` block) unregisters the hook."""

    _ids = itertools.count()

    def __init__(self, hooks: dict[int, Callable]) -> None:
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _indent(text: str, spaces: int) -> str:
    """Indent every line but the first, so a child's repr nests under its ``(name): `` label."""
    first, *rest = text.split("\n")
    return "\n".join([first, *(" " * spaces + line for line in rest)])


def _as_tensor(value: Any) -> Tensor | None:
    """A checkpoint entry as a Tensor: lazygrad tensors, numpy arrays and other array-likes are accepted."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic, int, float, bool)) or hasattr(value, "__array__"):
        return make_tensor(np.asarray(value))
    return None


# Where a module's registered state lives, in the order attribute lookup searches it.
_STATE_TABLES = ("_parameters", "_buffers", "_modules")


class Module:
    """Base class of every layer: subclass it, assign parameters and submodules, write ``forward``."""

    training: bool
    _parameters: dict[str, Parameter | None]
    _buffers: dict[str, Tensor | None]
    _non_persistent_buffers: set[str]
    _modules: dict[str, Module | None]
    _forward_hooks: dict[int, Callable]
    _forward_pre_hooks: dict[int, Callable]
    _backward_hooks: dict[int, Callable]
    _backward_pre_hooks: dict[int, Callable]
    _load_state_dict_pre_hooks: dict[int, Callable]

    def __init__(self) -> None:
        # Set through object.__setattr__ because our __setattr__ relies on these dicts existing. The hook tables
        # are OrderedDicts as torch's are, so printing one (as the pruning tutorial does) reads the same.
        for name, value in (("training", True), ("_parameters", {}), ("_buffers", {}),
                            ("_non_persistent_buffers", set()), ("_modules", {}), ("_forward_hooks", OrderedDict()),
                            ("_forward_pre_hooks", OrderedDict()), ("_backward_hooks", OrderedDict()),
                            ("_backward_pre_hooks", OrderedDict()), ("_load_state_dict_pre_hooks", OrderedDict())):
            object.__setattr__(self, name, value)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if capture.current() is not None:  # a compiled function guards on the state of the modules it calls
            capture.note_module(self)
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks or self._backward_pre_hooks):
            return self.forward(*args, **kwargs)  # the usual case: no copies of empty tables
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        backward_hook = None
        if self._backward_hooks or self._backward_pre_hooks:
            backward_hook = BackwardHook(self, list(self._backward_hooks.values()),
                                         list(self._backward_pre_hooks.values()))
            args = backward_hook.setup_input_hook(args)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output if backward_hook is None else backward_hook.setup_output_hook(output)

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """``hook(module, inputs, output)`` runs after ``forward``; a non-None result replaces the output."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def _pop_forward_pre_hook(self, wanted: Callable[[Any], bool]) -> Any:
        """Take out and return the first forward pre-hook ``wanted`` accepts (a reparametrization being made
        permanent), or None."""
        for key, hook in self._forward_pre_hooks.items():
            if wanted(hook):
                del self._forward_pre_hooks[key]
                return hook
        return None

    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> RemovableHandle:
        """``hook(module, inputs)`` runs before ``forward``; a non-None result replaces the inputs."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_full_backward_hook(self, hook: Callable[[Module, tuple, tuple], Any]) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` runs once the gradients with respect to the module's inputs are
        complete; a non-None result replaces ``grad_input``."""
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

    def register_full_backward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> RemovableHandle:
        """``hook(module, grad_output)`` runs when the gradients with respect to the module's outputs arrive; a
        non-None result replaces them."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        return handle

    def _register_load_state_dict_pre_hook(self, hook: Callable[..., None]) -> RemovableHandle:
        """``hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)`` runs
        before ``load_state_dict`` reads this module's keys and may rename them (a checkpoint in an older layout)."""
        handle = RemovableHandle(self._load_state_dict_pre_hooks)
        self._load_state_dict_pre_hooks[handle.id] = hook
        return handle

    # ---- registration ----
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_type_name(value)}' as parameter '{name}' "
                                "(torch.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            if params is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            self._modules[name] = value
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_type_name(value)}' as child module '{name}' "
                                "(torch.nn.Module or None expected)")
            self._modules[name] = None
        elif isinstance(value, Buffer):
            if params is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self.register_buffer(name, value, value.persistent)
        elif params is not None and name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_type_name(value)}' as buffer '{name}' "
                                "(torch.Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        """Drop ``name`` from every place an attribute may live, before it is registered anew."""
        self.__dict__.pop(name, None)
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: registered state lives in the three dicts.
        state = self.__dict__
        for table in _STATE_TABLES:
            entries = state.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def _check_name(self, kind: str, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {_type_name(name)}")
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain "."')
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_type_name(param)}' object to parameter '{name}' "
                            "(torch.nn.Parameter or None required)")
        if param is not None and not param.is_leaf:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                             "created explicitly. To express '" + name + "' as a function of another Tensor, "
                             "compute the value in the forward() method.")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Non-trainable state (running statistics...): saved in ``state_dict`` unless not persistent."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_type_name(tensor)}' object to buffer '{name}' "
                            "(torch Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_type_name(module)} is not a Module subclass")
        self._check_name("module", name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    # ---- traversal ----
    def named_modules(self, memo: set[int] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, table: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Tensor]]:
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse \
            else [(prefix, self)]
        seen: set[int] = set()
        for module_prefix, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def get_submodule(self, target: str) -> Module:
        module = self
        for part in target.split(".") if target else []:
            if part not in module._modules or module._modules[part] is None:
                raise AttributeError(f"{module._get_name()} has no attribute `{part}`")
            module = module._modules[part]  # type: ignore[assignment]
        return module

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module, as torch does."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ----
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        zero_grads(self.parameters(), set_to_none)

    # ---- dtype and device conversion ----
    def _convert(self, dtype: dtypes.DType | None, target: Any = None) -> Module:
        """Cast floating parameters and buffers to ``dtype`` and move all of them to ``target``, in place:
        parameters keep their identity, so optimizers built earlier still hold them."""
        with no_grad():
            for module in self.modules():
                for param in module._parameters.values():
                    if param is not None:
                        param.data = _converted(param, dtype, target)
                        if param.grad is not None:
                            param.grad.data = _converted(param.grad, dtype, target)
                for name, buffer in module._buffers.items():
                    if buffer is not None:
                        module._buffers[name] = _converted(buffer, dtype, target)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``; the dtype applies to floats only."""
        dtype, target = kwargs.get("dtype"), kwargs.get("device")
        for arg in args:
            if isinstance(arg, (dtypes.DType, np.dtype, type)):
                dtype = arg
            elif isinstance(arg, Tensor):
                dtype, target = arg.dtype, arg.device
            else:  # a device: a string, a device object or a GPU index
                target = f"cuda:{arg}" if isinstance(arg, int) else arg
        if dtype is not None:
            dtype = dtypes.to_dtype(dtype)
            if not dtype.is_floating_point:
                raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        if dtype is None and target is None:
            return self
        return self._convert(dtype, target)

    def float(self) -> Module:
        return self._convert(dtypes.float32)

    def double(self) -> Module:
        return self._convert(dtypes.float64)

    def half(self) -> Module:
        return self._convert(dtypes.float16)

    def bfloat16(self) -> Module:
        return self._convert(dtypes.bfloat16)

    def cpu(self) -> Module:
        return self._convert(None, "cpu")

    def cuda(self, device: Any = None) -> Module:
        return self._convert(None, "cuda" if device is None else f"cuda:{device}" if isinstance(device, int)
                             else device)

    # ---- state dict ----
    def _local_state(self) -> Iterator[tuple[str, Tensor]]:
        for name, param in self._parameters.items():
            if param is not None:
                yield name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                yield name, buffer

    def state_dict(self, destination: dict[str, Any] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Any]:
        """Parameters and persistent buffers by dotted name; detached views that share storage, as in torch."""
        if destination is None:
            destination = OrderedDict()
        for name, value in self._local_state():
            destination[prefix + name] = value if keep_vars else value.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> _IncompatibleKeys:
        """Copy values into the existing parameters and buffers (lazily) with torch's checks and messages."""
        missing: list[str] = []
        unexpected: list[str] = []
        errors: list[str] = []
        expected: set[str] = set()
        state_dict = OrderedDict(state_dict)  # the pre-hooks may rename keys: the caller's mapping stays as given
        for module_prefix, module in self.named_modules():
            for hook in module._load_state_dict_pre_hooks.values():
                hook(state_dict, module_prefix + "." if module_prefix else "", {}, strict, missing, unexpected, errors)
        with no_grad():
            for module_prefix, module in self.named_modules():
                base = module_prefix + "." if module_prefix else ""
                for name, current in module._local_state():
                    key = base + name
                    expected.add(key)
                    if key not in state_dict:
                        missing.append(key)
                        continue
                    value = _as_tensor(state_dict[key])
                    if value is None:
                        errors.append(f'While copying the parameter named "{key}", expected torch.Tensor or '
                                      f"Tensor-like object from checkpoint but received {type(state_dict[key])}")
                    elif isinstance(current, UninitializedParameter):  # a lazy module takes the saved shape
                        module._parameters[name] = Parameter(value.to(current.dtype).clone())
                    elif isinstance(current, UninitializedBuffer):
                        module._buffers[name] = value.to(current.dtype).clone()
                    elif value.shape != current.shape:
                        errors.append(f"size mismatch for {key}: copying a param with shape {value.shape} from "
                                      f"checkpoint, the shape in current model is {current.shape}.")
                    else:
                        current.copy_(value)
        unexpected += [key for key in state_dict if key not in expected]
        if strict:
            if unexpected:
                errors.insert(0, f"Unexpected key(s) in state_dict: {_quoted(unexpected)}. ")
            if missing:
                errors.insert(0, f"Missing key(s) in state_dict: {_quoted(missing)}. ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t" + "\n\t".join(errors))
        return _IncompatibleKeys(missing, unexpected)

    # ---- printing ----
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The module's own settings, shown inside its parentheses; subclasses override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _indent(repr(module), 2) for name, module in self._modules.items()]
        if len(extra_lines) == 1 and not child_lines:
            return f"{self._get_name()}({extra_lines[0]})"
        lines = extra_lines + child_lines
        if not lines:
            return f"{self._get_name()}()"
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


def zero_grads(params: Iterator[Tensor], set_to_none: bool) -> None:
    """Shared by ``Module.zero_grad`` and ``Optimizer.zero_grad``: drop or zero each gradient (lazily)."""
    for param in params:
        if param.grad is None:
            continue
        if set_to_none:
            param.grad = None
        else:
            param.grad.detach_()
            param.grad.zero_()


def _quoted(keys: list[str]) -> str:
    return ", ".join(f'"{key}"' for key in keys)


def _type_name(value: Any) -> str:
    if isinstance(value, Tensor):
        return {"float32": "torch.FloatTensor", "float64": "torch.DoubleTensor", "float16": "torch.HalfTensor",
                "bfloat16": "torch.BFloat16Tensor",
                "int64": "torch.LongTensor", "int32": "torch.IntTensor", "bool": "torch.BoolTensor"}.get(
                    value.dtype.name, "torch.Tensor")
    return type(value).__name__

"""``nn.utils.prune``: zero out units of a module's tensor through a mask, the way ``torch.nn.utils.prune`` does.

Pruning ``module.weight`` moves the parameter to ``weight_orig``, keeps the mask as the buffer ``weight_mask``,
and makes ``module.weight`` the product ``weight_orig * weight_mask``, rebuilt by a forward pre-hook (the pruning
method itself) before every forward, so training updates ``weight_orig`` and the pruned units stay zero and get
no gradient. Pruning the same tensor again combines the methods in a ``PruningContainer``: the new method picks
among the units still unpruned only. ``remove`` makes the pruning permanent.

Masks and pruned tensors are graph nodes like any other. A random structured mask stays lazy to the end (a
threshold drawn and compared inside the program); choosing the ``k`` smallest or largest units reads the scores
on the host once, at pruning time, so that ties are broken as torch's CPU ``topk`` breaks them (see
``topk_ties``); so does pruning again, where the units still unpruned decide the shape of what is chosen from.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from ...creation import ones_like, rand, rand_like, tensor, zeros
from ...tensor import Tensor
from ..module import Module
from .convert_parameters import parameters_to_vector
from .topk_ties import torch_topk_positions

__all__ = ["BasePruningMethod", "CustomFromMask", "Identity", "L1Unstructured", "LnStructured", "PruningContainer",
           "RandomStructured", "RandomUnstructured", "custom_from_mask", "global_unstructured", "identity",
           "is_pruned", "l1_unstructured", "ln_structured", "random_structured", "random_unstructured", "remove"]

_TORCH_MODULE = "torch.nn.utils.prune"


def _torch_path(cls: type) -> str:
    """A class's dotted path as torch prints it: this module's classes live in ``torch.nn.utils.prune`` there."""
    module = _TORCH_MODULE if cls.__module__ == __name__ else cls.__module__
    return f"{module}.{cls.__qualname__}"


class BasePruningMethod(ABC):
    """A way of choosing which units of a tensor to zero; subclasses define ``compute_mask`` and ``PRUNING_TYPE``.

    ``PRUNING_TYPE`` tells a ``PruningContainer`` which part of an already pruned tensor the method chooses
    from: ``"unstructured"`` the unpruned entries, ``"structured"`` the channels along ``dim`` not yet all
    zero, ``"global"`` the whole tensor. An applied method is also the module's forward pre-hook.
    """

    PRUNING_TYPE: ClassVar[str]
    _tensor_name: str | None = None  # the pruned tensor's name, set when the method is applied to a module

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self._tensor_name, self.apply_mask(module))

    def __repr__(self) -> str:
        # the default object repr, with torch's module path so a printed hook table reads as torch's does
        return f"<{_torch_path(type(self))} object at {id(self):#x}>"

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """The mask for ``t`` (its importance scores): ``default_mask``, the mask so far, with this method's units
        zeroed as well."""

    def apply_mask(self, module: Module) -> Tensor:
        """The pruned tensor: ``<name>_orig`` times ``<name>_mask``, a new graph node at every call."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned")
        mask = getattr(module, self._tensor_name + "_mask")
        orig = getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any, importance_scores: Tensor | None = None,
              **kwargs: Any) -> BasePruningMethod:
        """Prune ``module.<name>`` with ``cls(*args, **kwargs)``, on top of any pruning it already has; the mask is
        chosen from ``importance_scores`` (the tensor itself by default). Returns the method now acting on it."""
        method = _joined_with_earlier(module, name, cls(*args, **kwargs))
        orig = getattr(module, name)
        if importance_scores is None:
            importance_scores = orig
        elif importance_scores.shape != orig.shape:
            raise AssertionError(f"importance_scores should have the same shape as parameter {name} of {module}, "
                                 f"got {importance_scores.shape} vs {orig.shape}")
        first_pruning = not isinstance(method, PruningContainer)
        if first_pruning:
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone()
        try:
            module.register_buffer(name + "_mask", method.compute_mask(importance_scores, default_mask=default_mask))
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception:
            if first_pruning:  # give the module its parameter back, as it was
                module.register_parameter(name, getattr(module, name + "_orig"))
                del module._parameters[name + "_orig"]
            raise
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None, importance_scores: Tensor | None = None) -> Tensor:
        """``t`` with this method's mask applied, outside any module (``default_mask``: units already pruned)."""
        if importance_scores is None:
            importance_scores = t
        elif importance_scores.shape != t.shape:
            raise AssertionError(f"importance_scores should have the same shape as tensor t, "
                                 f"got {importance_scores.shape} vs {t.shape}")
        if default_mask is None:
            default_mask = ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module: Module) -> None:
        """Make the pruning permanent: ``<name>`` becomes a parameter again, holding the pruned values, and
        ``<name>_orig`` and ``<name>_mask`` go. The parameter object is ``<name>_orig``'s, so an optimizer holding
        it keeps training it."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be removed")
        name = self._tensor_name
        weight = self.apply_mask(module)
        if hasattr(module, name):
            delattr(module, name)
        orig = module._parameters[name + "_orig"]
        orig.data = weight.data
        del module._parameters[name + "_orig"]
        del module._buffers[name + "_mask"]
        setattr(module, name, orig)


def _joined_with_earlier(module: Module, name: str, method: BasePruningMethod) -> BasePruningMethod:
    """``method`` named for ``name``, in one container with the pruning already on ``module.<name>`` if there is
    some; that pruning's hook is unregistered (``apply`` registers the result)."""
    earlier = [(key, hook) for key, hook in module._forward_pre_hooks.items()
               if isinstance(hook, BasePruningMethod) and hook._tensor_name == name]
    if len(earlier) > 1:
        raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} of module {module}. "
                             "Use a PruningContainer.")
    method._tensor_name = name
    if not earlier:
        return method
    key, old = earlier[0]
    del module._forward_pre_hooks[key]
    container = old if isinstance(old, PruningContainer) else PruningContainer(old)
    container.add_pruning_method(method)
    return container


class PruningContainer(BasePruningMethod):
    """The successive pruning methods of one tensor; a new one prunes among what the earlier ones left."""

    def __init__(self, *methods: BasePruningMethod) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        if methods:
            self._tensor_name = methods[0]._tensor_name
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        """Append ``method``, which must act on the container's tensor."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        if method is not None and self._tensor_name != method._tensor_name:
            raise ValueError(f"Can only add pruning methods acting on the parameter named '{self._tensor_name}' "
                             f"to PruningContainer {self}. Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self) -> Iterator[BasePruningMethod]:
        return iter(self._pruning_methods)

    def __getitem__(self, idx: int | slice) -> Any:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        """``default_mask`` with the latest method's mask written over the part it chooses from (its
        ``PRUNING_TYPE``): the method sees that part only, as if it were the whole tensor."""
        method = self._pruning_methods[-1]
        part = _unpruned_part(method, t, default_mask)
        mask = default_mask.to(dtype=t.dtype)
        mask[part] = method.compute_mask(t[part], default_mask=default_mask[part]).to(dtype=mask.dtype)
        return mask


def _unpruned_part(method: BasePruningMethod, t: Tensor, mask: Tensor) -> Any:
    """The index of what ``method`` chooses from: entries still 1, channels not yet all zero, or everything."""
    if method.PRUNING_TYPE == "unstructured":
        return mask == 1
    if method.PRUNING_TYPE == "structured":
        if not hasattr(method, "dim"):
            raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the attribute `dim` '
                                 "defined.")
        ndim = t.dim()
        dim = method.dim + ndim if method.dim < 0 else method.dim
        if dim < 0:
            raise IndexError(f"Index is out of bounds for tensor with dimensions {ndim}")
        alive = mask.sum(dim=[d for d in range(ndim) if d != dim]) != 0
        return tuple(alive if d == dim else slice(None) for d in range(ndim))
    if method.PRUNING_TYPE == "global":
        return (slice(None),) * t.dim()
    raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")


class Identity(BasePruningMethod):
    """Prunes nothing: the reparametrization with a mask of ones."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> BasePruningMethod:
        return super().apply(module, name)


class _ByScore(BasePruningMethod):
    """Prunes ``amount`` units (a count, or a fraction of the units): the ones ``_scores`` ranks first, largest
    or smallest as ``_prune_largest`` says."""

    PRUNING_TYPE = "unstructured"
    _prune_largest: bool

    def __init__(self, amount: float) -> None:
        _check_amount(amount)
        self.amount = amount

    def _scores(self, t: Tensor) -> Tensor:
        raise NotImplementedError

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        count = _units_to_prune(self.amount, t.nelement())
        mask = default_mask.clone()
        if count:  # nothing is scored (for random pruning: drawn) when nothing is pruned, as in torch
            mask.view(-1)[_top_positions(self._scores(t), count, largest=self._prune_largest)] = 0
        return mask


class RandomUnstructured(_ByScore):
    """Prunes ``amount`` units (a count, or a fraction of the units) chosen at random."""

    _prune_largest = True

    def _scores(self, t: Tensor) -> Tensor:
        return rand_like(t)

    @classmethod
    def apply(cls, module: Module, name: str, amount: float) -> BasePruningMethod:
        return super().apply(module, name, amount=amount)


class L1Unstructured(_ByScore):
    """Prunes the ``amount`` units (a count, or a fraction of the units) of smallest absolute value."""

    _prune_largest = False

    def _scores(self, t: Tensor) -> Tensor:
        return t.abs()

    @classmethod
    def apply(cls, module: Module, name: str, amount: float,
              importance_scores: Tensor | None = None) -> BasePruningMethod:
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    """Prunes ``amount`` whole channels along ``dim`` (a count, or a fraction of them) chosen at random."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: float, dim: int = -1) -> None:
        _check_amount(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        channels, count = _channels_to_prune(t, self.amount, self.dim)
        if not count:
            return default_mask
        # one draw per channel; those at or below the count-th smallest draw go (a comparison: no host read)
        draws = rand(channels)
        kept = draws > draws.kthvalue(count).values
        return _across_channels(kept.to(dtype=t.dtype), t, self.dim) * default_mask.to(dtype=t.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, amount: float, dim: int = -1) -> BasePruningMethod:
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    """Prunes the ``amount`` whole channels along ``dim`` (a count, or a fraction of them) of smallest L``n``
    norm (``n`` as ``p`` of ``torch.norm``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: float, n: Any, dim: int = -1) -> None:
        _check_amount(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        channels, count = _channels_to_prune(t, self.amount, self.dim)
        if not count:
            return default_mask
        dims = [d for d in range(t.dim()) if d != self.dim % t.dim()]
        kept = zeros(channels, dtype=t.dtype, device=t.device)
        kept[_top_positions(t.norm(p=self.n, dim=dims), channels - count, largest=True)] = 1
        return _across_channels(kept, t, self.dim) * default_mask.to(dtype=t.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, amount: float, n: Any, dim: int,
              importance_scores: Tensor | None = None) -> BasePruningMethod:
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    """Prunes where a given ``mask`` is zero."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match self.mask shape "
                                 f"{self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, mask: Tensor) -> BasePruningMethod:
        return super().apply(module, name, mask=mask)


def identity(module: Module, name: str) -> Module:
    """Reparametrize ``module.<name>`` as pruned by a mask of ones (pruning nothing)."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: float) -> Module:
    """Prune ``amount`` random units of ``module.<name>`` (a count, or a fraction of them)."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount: float, importance_scores: Tensor | None = None) -> Module:
    """Prune the ``amount`` units of ``module.<name>`` with the smallest absolute ``importance_scores``."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount: float, dim: int) -> Module:
    """Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount: float, n: Any, dim: int,
                  importance_scores: Tensor | None = None) -> Module:
    """Prune the ``amount`` channels of ``module.<name>`` along ``dim`` with the smallest L``n`` norm."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters: Iterable[tuple[Module, str]], pruning_method: type[BasePruningMethod],
                        importance_scores: dict[tuple[Module, str], Tensor] | None = None, **kwargs: Any) -> None:
    """Prune the ``(module, name)`` tensors as one: ``pruning_method(**kwargs)`` chooses among all their units
    together, so a tensor loses more or fewer units than ``amount`` of its own."""
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    parameters = list(parameters)
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")
    scores = parameters_to_vector([importance_scores.get((module, name), getattr(module, name))
                                   for module, name in parameters])
    default_mask = parameters_to_vector([getattr(module, name + "_mask", ones_like(getattr(module, name)))
                                         for module, name in parameters])
    method = pruning_method(**kwargs)
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError(f'Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. Found method '
                        f"<class '{_torch_path(pruning_method)}'> of type {method.PRUNING_TYPE}")
    method._tensor_name = "global"
    mask = PruningContainer(method).compute_mask(scores, default_mask)
    start = 0
    for module, name in parameters:
        count = getattr(module, name).numel()
        custom_from_mask(module, name, mask=mask[start:start + count].view_as(getattr(module, name)))
        start += count


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    """Prune ``module.<name>`` where ``mask`` is zero."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Module, name: str) -> Module:
    """Make the pruning of ``module.<name>`` permanent: see ``BasePruningMethod.remove``."""
    hook = module._pop_forward_pre_hook(lambda h: isinstance(h, BasePruningMethod) and h._tensor_name == name)
    if hook is None:
        raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")
    hook.remove(module)
    return module


def is_pruned(module: Module) -> bool:
    """Whether ``module`` or any of its submodules has a pruned tensor."""
    return any(isinstance(hook, BasePruningMethod)
               for submodule in module.modules() for hook in submodule._forward_pre_hooks.values())


# ---- amounts and channels ----


def _check_amount(amount: Any) -> None:
    """An amount is a non-negative count or a fraction in [0, 1]."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    integral = isinstance(amount, numbers.Integral)
    if (integral and amount < 0) or (not integral and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _units_to_prune(amount: float, size: int) -> int:
    """How many of ``size`` units ``amount`` prunes: a count as given, a fraction rounded half to even."""
    if isinstance(amount, numbers.Integral):
        if amount > size:
            raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={size}")
        return int(amount)
    return round(amount * size)


def _channels_to_prune(t: Tensor, amount: float, dim: int) -> tuple[int, int]:
    """How many channels ``t`` has along ``dim``, and how many of them ``amount`` prunes."""
    channels = _channel_count(t, dim)
    return channels, _units_to_prune(amount, channels)


def _channel_count(t: Tensor, dim: int) -> int:
    """The number of channels of ``t`` along ``dim``, refusing tensors without channels."""
    if t.dim() <= 1:
        raise ValueError(f"Structured pruning can only be applied to multidimensional tensors. Found tensor of "
                         f"shape {t.shape} with {t.dim()} dims")
    if dim >= t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")
    return t.shape[dim]


def _across_channels(per_channel: Tensor, t: Tensor, dim: int) -> Tensor:
    """A value per channel along ``dim``, shaped to broadcast over ``t``."""
    shape = [1] * t.dim()
    shape[dim] = -1
    return per_channel.reshape(shape)


def _top_positions(values: Tensor, k: int, largest: bool) -> Tensor:
    """Where the ``k`` largest (or smallest) of ``values`` are, as torch's CPU ``topk`` would pick them among ties
    (read on the host: see ``topk_ties``)."""
    return tensor(torch_topk_positions(values.detach().reshape(-1).numpy(), k, largest))

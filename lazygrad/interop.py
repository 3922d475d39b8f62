"""DLPack: hand tensors to numpy, jax, torch and any other DLPack consumer, and take theirs in.

Both directions copy. A lazygrad buffer is immutable and shared by every node that reads it, while a DLPack
consumer receives writable memory (torch even writes through a read-only numpy export), so ``__dlpack__``
exports a fresh host copy of the tensor's value: the consumer owns it, and ``copy=False`` is refused with a
``BufferError``. ``from_dlpack`` copies what it receives, because the producer may write to its memory later
while a lazy graph still has to read the value it had.

numpy's DLPack has no bfloat16, so bfloat16 goes through jax's (when jax is installed) in both directions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes
from .creation import tensor
from .tensor import Tensor

_KDLCPU = 1  # DLPack's device type code for host memory
_NO_BFLOAT16 = ("numpy's DLPack support has no bfloat16, and lazygrad exchanges bfloat16 through jax's: install jax "
                "(pip install lazygrad[jax]), or convert with .float() first")


def _host_copy(t: Tensor) -> Any:
    """A new host array holding ``t``'s value, which only the consumer will ever see."""
    value = np.array(t.detach()._value())
    if value.dtype != dtypes.bfloat16.np:
        return value
    try:
        import jax
    except ImportError:
        raise BufferError(_NO_BFLOAT16) from None
    return jax.device_put(value, jax.devices("cpu")[0])


def __dlpack__(self: Tensor, *, stream: Any = None, max_version: tuple[int, int] | None = None,
               dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
    """A DLPack capsule of a host copy of this tensor (see the module docstring for why it is always a copy)."""
    if self.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if stream not in (None, -1):
        raise BufferError(f"stream must be None for a host tensor, got {stream!r}")
    if copy is False:
        raise BufferError("lazygrad buffers are immutable and shared, so a tensor is only exported as a copy "
                          "(copy=False cannot be honoured)")
    if dl_device is not None and tuple(dl_device) != (_KDLCPU, 0):
        raise BufferError(f"lazygrad exports host memory (device {(_KDLCPU, 0)}), not device {tuple(dl_device)}")
    kwargs = {} if max_version is None else {"max_version": max_version}
    return _host_copy(self).__dlpack__(**kwargs)


def __dlpack_device__(self: Tensor) -> tuple[int, int]:
    """Always the host: ``__dlpack__`` exports a host copy, whichever device holds the tensor."""
    return (_KDLCPU, 0)


class _Capsule:
    """A bare DLPack capsule (from a ``to_dlpack``) dressed as the producer object numpy's importer expects."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (_KDLCPU, 0)


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """A tensor holding a copy of a DLPack producer's data (a numpy, jax or torch array, or a capsule).

    It always copies (see ``to_dlpack``): ``copy=False`` raises, as the protocol asks of a copy it cannot
    avoid. ``device`` moves the result there.
    """
    if copy is False:
        raise BufferError("lazygrad always copies on DLPack import: its buffers are shared between tensors")
    if isinstance(ext_tensor, Tensor):
        return ext_tensor if device is None else ext_tensor.to(device)
    producer = ext_tensor if hasattr(ext_tensor, "__dlpack__") else _Capsule(ext_tensor)
    try:
        array = np.from_dlpack(producer)
    except (RuntimeError, TypeError, BufferError) as error:
        if isinstance(producer, _Capsule) or "dtype" not in str(error):
            raise
        array = _through_jax(producer)  # a dtype numpy cannot import: bfloat16
    out = tensor(array)
    return out if device is None else out.to(device)


def _through_jax(producer: Any) -> np.ndarray:
    try:
        import jax.numpy as jnp
    except ImportError:
        raise BufferError(_NO_BFLOAT16) from None
    return np.asarray(jnp.from_dlpack(producer))


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule of a copy of ``tensor`` (the legacy, capsule-based half of the protocol)."""
    return tensor.__dlpack__()


Tensor.__dlpack__ = __dlpack__
Tensor.__dlpack_device__ = __dlpack_device__

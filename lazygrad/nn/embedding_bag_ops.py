"""``embedding_bag``: sums, means or maxima of bags of embedding rows, without a per-bag loop.

Every bag is reduced over a (bag, position) membership mask. A 2-D input is a batch of equal bags, so its
mask is (bags, length) over its own rows; a 1-D input with ``offsets`` compares every position with every
bag's [start, end) range, so the mask is (bags, indices) over the shared rows. The offsets stay lazy: no
value is read to find the bags. Sums and means are one (batched) matrix product of the mask with the rows;
``max`` takes the maximum over the masked rows, O(bags x indices x dim) for a 1-D input.
"""

from __future__ import annotations

from ..arithmetic import where
from ..creation import arange
from ..grad_mode import no_grad
from ..reshaping import cat
from ..tensor import Tensor
from .functional_base import _as_op

_MODES = ("sum", "mean", "max")
# Added to a row's norm before dividing max_norm by it, as torch's renorm does.
_RENORM_EPSILON = 1e-7


def _check_indices(tensor: Tensor) -> None:
    if tensor.dtype.name not in ("int64", "int32"):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {tensor.type()} instead (while checking arguments for embedding_bag)")


def _padding(padding_idx: int | None, rows: int) -> int | None:
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise RuntimeError(f"padding_idx must be within the number of embeddings, -{rows} through {rows - 1}, "
                           f"but got {padding_idx}")
    return padding_idx % rows


def _renorm_read_rows(weight: Tensor, indices: Tensor, max_norm: float, norm_type: float) -> None:
    """Scale down to ``max_norm``, in place and outside autograd, each row the input reads whose
    ``norm_type``-norm exceeds it, as torch does before the lookup."""
    with no_grad():
        reads = weight.new_zeros(weight.shape[0]).index_add(0, indices, weight.new_ones(indices.numel())) > 0
        norms = weight.norm(norm_type, 1, keepdim=True)
        shrink = reads.unsqueeze(1) & (norms > max_norm)
        weight.mul_(where(shrink, max_norm / (norms + _RENORM_EPSILON), 1.0))


def _bag_mask(offsets: Tensor, count: int, include_last_offset: bool) -> Tensor:
    """(bags, positions): bag ``b`` holds positions [offsets[b], offsets[b + 1]), the last one up to the end.

    With ``include_last_offset`` the final offset only closes the list: like torch, the last bag still runs
    to the end of the input.
    """
    starts = offsets[:-1] if include_last_offset else offsets
    ends = cat([starts[1:], starts.new_full((1,), count)])
    positions = arange(count)
    return (positions >= starts.unsqueeze(1)) & (positions < ends.unsqueeze(1))


def _reduce_bags(rows: Tensor, member: Tensor, scale: Tensor | None, mode: str) -> Tensor:
    """Reduce ``rows`` (bags or 1, positions, dim) over the positions ``member`` (bags, positions) marks;
    an empty bag gives zeros in every mode."""
    if mode == "max":
        picked = where(member.unsqueeze(2), rows, float("-inf")).amax(1)
        return where(member.any(1, keepdim=True), picked, 0.0)
    weights = member.to(rows.dtype) if scale is None else where(member, scale, 0.0)
    total = (weights.unsqueeze(1) @ rows).squeeze(1)
    if mode == "sum":
        return total
    return total / member.sum(1, keepdim=True).clamp(min=1).to(rows.dtype)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None, max_norm: float | None = None,
                  norm_type: float = 2, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """The sum, mean or max of each bag of rows of ``weight``: the rows of a 2-D ``input``, or the runs of a
    1-D ``input`` that ``offsets`` starts. Rows at ``padding_idx`` are left out of their bags."""
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, then it "
                         f"must have the same shape as the input ({input.shape})")
    if weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension {weight.ndim}")
    if input.ndim == 2 and offsets is not None:
        kind = "<class 'torch.Tensor'>" if isinstance(offsets, Tensor) else str(type(offsets))
        raise ValueError(f"if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed "
                         f"length sequences. However, found offsets of type {kind}")
    if input.ndim == 1 and offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if input.ndim == 1 and offsets.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    if input.ndim not in (1, 2):
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}")
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding_bag: scale_grad_by_freq and sparse are not supported")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                                  f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                                  f"on GitHub.")
    for indices in (input, offsets):
        if indices is not None:
            _check_indices(indices)
    if per_sample_weights is not None and per_sample_weights.dtype is not weight.dtype:
        raise RuntimeError(f"Expected tensor for argument #1 'weight' to have the same type as tensor for argument "
                           f"#1 'per_sample_weights'; but type {weight.type()} does not equal "
                           f"{per_sample_weights.type()} (while checking arguments for embedding_bag)")
    padding_idx = _padding(padding_idx, weight.shape[0])
    flat = input.reshape(-1)
    if max_norm is not None:
        _renorm_read_rows(weight, flat, max_norm, norm_type)
    # As (bags or 1, positions): a 2-D input's bags each read their own rows, a 1-D input's share them.
    layout = (input.shape[0] if input.ndim == 2 else 1, input.shape[-1])
    rows = weight.index_select(0, flat).reshape(*layout, weight.shape[1])
    if input.ndim == 2:
        member = input.new_ones(layout).bool()
    else:
        member = _bag_mask(offsets, input.shape[0], include_last_offset)
    if padding_idx is not None:
        member = member & (input != padding_idx).reshape(layout)
    scale = None if per_sample_weights is None else per_sample_weights.reshape(layout)
    return _as_op("EmbeddingBagBackward0", _reduce_bags(rows, member, scale, mode), weight, per_sample_weights)

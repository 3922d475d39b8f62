"""``pixel_shuffle`` and ``pixel_unshuffle``: trade channels for spatial resolution with a reshape and a permute."""

from __future__ import annotations

from ..tensor import Tensor, _record


def _check_rank(input: Tensor, op: str) -> None:
    if input.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input with {input.ndim} "
                           "dimension(s)")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    _check_rank(input, "pixel_shuffle")
    r = upscale_factor
    *batch, channels, h, w = input.shape
    if channels % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}")
    n = len(batch)
    split = input.reshape(*batch, channels // (r * r), r, r, h, w)
    moved = split.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return _record("PixelShuffleBackward0", moved.reshape(*batch, channels // (r * r), h * r, w * r).node, input)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    _check_rank(input, "pixel_unshuffle")
    r = downscale_factor
    *batch, channels, h, w = input.shape
    for name, axis, size in (("height", -2, h), ("width", -1, w)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({axis})={size} is not divisible by {r}")
    n = len(batch)
    split = input.reshape(*batch, channels, h // r, r, w // r, r)
    moved = split.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return _record("PixelUnshuffleBackward0", moved.reshape(*batch, channels * r * r, h // r, w // r).node, input)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g * k, *) -> (N, k * g, *): the channels dealt out group by group (ShuffleNet's mixing of groups)."""
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    batch, channels, *rest = input.shape
    if channels % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {channels} channels and {groups} "
                           "groups.")
    dealt = input.reshape(batch, groups, channels // groups, *rest).transpose(1, 2).reshape(input.shape)
    return _record("ChannelShuffleBackward0", dealt.node, input)

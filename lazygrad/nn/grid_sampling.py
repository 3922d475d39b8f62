"""``affine_grid`` and ``grid_sample``: spatial transformer networks' sampling grid and the sampling itself.

``affine_grid`` maps every output pixel's normalized position (-1 .. 1, homogeneous) through the batch of
affine matrices. ``grid_sample`` reads the input at such positions: each position is unnormalized to pixel
units, folded back into the image by the padding mode, and read at its nearest pixel or as the bilinear
blend of the 2**n pixels around it. The reads are gathers at positions computed in the graph, so the
gradient reaches the input (a scatter-add) and the grid (through the blend weights), as torch's does.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

from ..arithmetic import where
from ..creation import linspace, ones, zeros, zeros_like
from ..reshaping import stack
from ..tensor import Tensor, _record

_ALIGN_CORNERS_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                          "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
                          "documentation of grid_sample for details.")
_MATRIX_SHAPES = {4: (2, 3), 5: (3, 4)}


def _align_corners(align_corners: bool | None) -> bool:
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_WARNING, stacklevel=3)
        return False
    return align_corners


# ---- affine_grid --------------------------------------------------------------------------------------------


def _normalized_positions(theta: Tensor, steps: int, align_corners: bool) -> Tensor:
    """Pixel positions from -1 to 1 (pixel centers when the corners are not aligned); 0 for a single pixel."""
    if steps <= 1:
        return zeros(1, dtype=theta.dtype)
    positions = linspace(-1, 1, steps, dtype=theta.dtype)
    return positions if align_corners else positions * (steps - 1) / steps


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """torch's ``F.affine_grid``: (N, *spatial, n) positions, the last axis in (x, y[, z]) order."""
    align_corners = _align_corners(align_corners)
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    if len(size) not in _MATRIX_SHAPES:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
                                  f"respectively. Got size {size}.")
    rows, cols = _MATRIX_SHAPES[len(size)]
    if theta.ndim != 3 or tuple(theta.shape[-2:]) != (rows, cols):
        raise ValueError(f"Expected a batch of {rows}D affine matrices of shape Nx{rows}x{cols} for size {size}. "
                         f"Got {theta.shape}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the documentation "
                      "of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    n = len(spatial)
    axes = []
    for k, steps in enumerate(reversed(spatial)):  # x runs along the last axis
        shape = [1] * n
        shape[n - 1 - k] = steps
        axes.append(_normalized_positions(theta, steps, align_corners).reshape(shape).expand(*spatial))
    base = stack([*axes, ones(*spatial, dtype=theta.dtype)], dim=-1).reshape(1, -1, n + 1)
    grid = base.expand(theta.shape[0], -1, -1).bmm(theta.transpose(1, 2))
    return _record("AffineGridGeneratorBackward0", grid.reshape(theta.shape[0], *spatial, n).node, theta)


# ---- grid_sample ---------------------------------------------------------------------------------------------


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """-1 .. 1 to pixel units: to the corner pixels' centers when aligned, else to the image's outer edges."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """``coord`` folded back into [low, high] by reflecting at both ends as often as it takes."""
    if twice_low == twice_high:
        return zeros_like(coord)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = (coord - low).abs()
    extra = distance.fmod(span)
    flips = (distance / span).floor()
    return where(flips.fmod(2) == 0, extra + low, span - extra + low)


def _source(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """Pixel coordinate read for one axis; border and reflection keep it inside the image."""
    coord = _unnormalize(coord, size, align_corners)
    if padding_mode == "reflection":
        coord = _reflect(coord, 0, 2 * (size - 1)) if align_corners else _reflect(coord, -1, 2 * size - 1)
    if padding_mode != "zeros":
        coord = coord.clamp(0, size - 1)
    return coord


def _read(flat: Tensor, pixels: Sequence[Tensor], sizes: Sequence[int]) -> Tensor:
    """``flat`` (N, C, prod(sizes)) at integer pixel coordinates (each (N, P), float, last axis first), 0
    where a coordinate falls outside the image."""
    inside, index = None, None
    for pixel, size in zip(pixels, reversed(sizes)):
        ok = (pixel >= 0) & (pixel <= size - 1)
        inside = ok if inside is None else inside & ok
    stride = 1
    for pixel, size in zip(pixels, reversed(sizes)):
        term = pixel.clamp(0, size - 1).long() * stride
        index = term if index is None else index + term
        stride *= size
    values = flat.gather(2, index.unsqueeze(1).expand(-1, flat.shape[1], -1))
    return where(inside.unsqueeze(1), values, 0.0)


def _bilinear(flat: Tensor, coords: Sequence[Tensor], sizes: Sequence[int]) -> Tensor:
    """Each corner of the pixel cell around a position, weighted by the volume of the opposite sub-cell."""
    lows = [c.floor() for c in coords]
    out = None
    for corner in itertools.product((0, 1), repeat=len(coords)):
        pixels, weight = [], None
        for high, c, low in zip(reversed(corner), coords, lows):
            pixels.append(low + 1 if high else low)
            w = c - low if high else low + 1 - c
            weight = w if weight is None else weight * w
        term = _read(flat, pixels, sizes) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """torch's ``F.grid_sample`` for 4-D and 5-D inputs, in the bilinear and nearest modes."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                         f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    align_corners = _align_corners(align_corners)
    _check_shapes(input, grid)
    if mode == "bicubic":
        raise NotImplementedError("grid_sample: mode='bicubic' is not supported")
    batch, channels, *sizes = input.shape
    out_spatial = tuple(grid.shape[1:-1])
    points = grid.reshape(batch, -1, len(sizes))
    coords = [_source(points[..., k], size, padding_mode, align_corners)
              for k, size in enumerate(reversed(sizes))]
    flat = input.reshape(batch, channels, -1)
    out = _read(flat, [c.round() for c in coords], sizes) if mode == "nearest" else _bilinear(flat, coords, sizes)
    name = f"GridSampler{len(sizes)}DBackward0"
    return _record(name, out.reshape(batch, channels, *out_spatial).node, input, grid)


def _check_shapes(input: Tensor, grid: Tensor) -> None:
    """torch's checks, in torch's order: the batch, the grid's last axis, then the ranks."""
    sizes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got {sizes}")
    if grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in last dimension, but got "
                           f"grid with sizes {list(grid.shape)}")
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but "
                           f"got {sizes}")

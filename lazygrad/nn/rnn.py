"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step cells, as Python loops over time.

Every step is ordinary Tensor arithmetic, so both backends and autograd run it with no new primitive.
The input-to-hidden products of all time steps are one matmul before the loop; only the hidden-to-hidden
product runs per step. A sequence of T steps unrolls into T copies of the step: one program per length.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any

from .. import autocast_mode, dtypes
from ..autograd_graph import grad_fn_class
from ..creation import empty, zeros
from ..reshaping import cat, stack
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

State = Any  # h, or (h, c) for an LSTM
Step = Callable[[Tensor, State, Tensor, Tensor | None, Tensor | None], tuple[Tensor, State]]


# ---- one time step ------------------------------------------------------------------------------------
# ``gi`` is the input's contribution (x @ W_ih.T + b_ih), computed for every step at once by the caller.


def _tanh_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None) -> tuple[Tensor, State]:
    h = (gi + F.linear(h, w_hh, b_hh)).tanh()
    return h, h


def _relu_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None) -> tuple[Tensor, State]:
    h = (gi + F.linear(h, w_hh, b_hh)).relu()
    return h, h


def _gru_step(gi: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None) -> tuple[Tensor, State]:
    i_r, i_z, i_n = gi.chunk(3, -1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, -1)
    reset = (i_r + h_r).sigmoid()
    update = (i_z + h_z).sigmoid()
    candidate = (i_n + reset * h_n).tanh()
    h = candidate + update * (h - candidate)  # (1 - z) * n + z * h with one product fewer
    return h, h


def _lstm_step(gi: Tensor, state: State, w_hh: Tensor, b_hh: Tensor | None,
               w_hr: Tensor | None) -> tuple[Tensor, State]:
    h, c = state
    i, f, g, o = (gi + F.linear(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr is not None:
        h = F.linear(h, w_hr)
    return h, (h, c)


# mode: (gates per hidden unit, step)
_MODES: dict[str, tuple[int, Step]] = {
    "RNN_TANH": (1, _tanh_step), "RNN_RELU": (1, _relu_step), "GRU": (3, _gru_step), "LSTM": (4, _lstm_step),
}
_NONLINEARITIES = {"tanh": "RNN_TANH", "relu": "RNN_RELU"}


# ---- a direction over time --------------------------------------------------------------------------------
# In a packed batch the rows still running shrink over time (longest sequences first): going forward, the
# rows that end leave their final state behind; going backward, rows join with their initial state.


def _rows(state: State, start: int, stop: int) -> State:
    return tuple(s[start:stop] for s in state) if isinstance(state, tuple) else state[start:stop]


def _join(parts: list[State]) -> State:
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], tuple):
        return tuple(cat(column) for column in zip(*parts))
    return cat(parts)


def _scan(step: Step, weights: tuple[Tensor, Tensor | None, Tensor | None], inputs: tuple[Tensor, ...],
          state: State, reverse: bool) -> tuple[list[Tensor], State]:
    """Each step's output in time order, and each row's state after its last step."""
    outputs: list[Tensor] = [None] * len(inputs)  # type: ignore[list-item]
    initial, finished = state, []
    running = inputs[-1 if reverse else 0].shape[0]
    if reverse and running < inputs[0].shape[0]:  # backward, only the longest sequences run at first
        state = _rows(state, 0, running)
    for t in reversed(range(len(inputs))) if reverse else range(len(inputs)):
        rows = inputs[t].shape[0]
        if rows < running:
            finished.append(_rows(state, rows, running))
            state = _rows(state, 0, rows)
        elif rows > running:
            state = _join([state, _rows(initial, running, rows)])
        running = rows
        outputs[t], state = step(inputs[t], state, *weights)
    return outputs, _join([state, *reversed(finished)])


# ---- multi-layer sequence modules -------------------------------------------------------------------------


def _rename(t: Tensor, name: str) -> None:
    """Give ``t``'s record torch's ``grad_fn`` name for the fused op it stands for (gradients are unchanged)."""
    if t.grad_fn is not None:
        t.grad_fn.__class__ = grad_fn_class(name)


_WEIGHT_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


class RNNBase(Module):
    """Parameters ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}`` (``weight_hr_l{k}``
    with projections), ``_reverse`` for the backward direction, registered in torch's order."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        if mode not in _MODES:
            raise ValueError("Unrecognized RNN mode: " + mode)
        _check_sizes(input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _MODES[mode][0] * hidden_size
        out_size = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else out_size * directions
            for direction in range(directions):
                shapes = {"weight_ih": (gate_size, layer_input), "weight_hh": (gate_size, out_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                for kind, shape in shapes.items():
                    setattr(self, kind + suffix, Parameter(empty(*shape, dtype=dtype)))
                self._all_weights.append([kind + suffix for kind in shapes])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def flatten_parameters(self) -> None:
        """Kept for torch compatibility: the weights are already separate graph inputs, nothing to compact."""

    @property
    def all_weights(self) -> list[list[Parameter]]:
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    @property
    def _flat_weights_names(self) -> list[str]:
        """Every weight's name in torch's order: weight-dropping wrappers written for torch look them up here."""
        return [name for names in self._all_weights for name in names]

    @property
    def _flat_weights(self) -> list[Parameter]:
        return [getattr(self, name) for name in self._flat_weights_names]

    def _layer_weights(self, index: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None, Tensor | None]:
        """(w_ih, w_hh, b_ih, b_hh, w_hr) of the ``index``-th (layer, direction) pair, None where absent. Read as
        attributes, as torch does: a weight-dropping wrapper replaces a parameter by a plain tensor (its dropped
        copy of a raw weight) before each call."""
        suffix = self._all_weights[index][0].removeprefix("weight_ih")
        return tuple(getattr(self, kind + suffix, None) for kind in _WEIGHT_KINDS)  # type: ignore[return-value]

    def _state_sizes(self, batch: int) -> list[tuple[int, int, int]]:
        stacks = self.num_layers * (2 if self.bidirectional else 1)
        sizes = [(stacks, batch, self.proj_size or self.hidden_size)]
        return [*sizes, (stacks, batch, self.hidden_size)] if self.mode == "LSTM" else sizes

    def forward(self, input: Tensor | PackedSequence, hx: Any = None) -> tuple[Any, Any]:
        dtype = autocast_mode.recurrent_dtype(self.mode, input.data if isinstance(input, PackedSequence) else input)
        if dtype is not None:  # inside an autocast region: input and states in the dtype torch runs the layer in
            input = input.to(dtype)
            hx = None if hx is None else tuple(h.to(dtype) for h in hx) if isinstance(hx, tuple) else hx.to(dtype)
        return self._forward(input, hx, dtype is not None)

    def _forward(self, input: Tensor | PackedSequence, hx: Any, autocast: bool) -> tuple[Any, Any]:
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx, autocast)
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        if input.ndim not in (2, 3):
            tail = " tensor instead" if name == "RNN" else " instead"
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D{tail}")
        batched = input.ndim == 3
        states = None if hx is None else (_pair(hx) if self.mode == "LSTM" else [hx])
        if states is not None:
            _check_state_dims(states, batched, self.mode == "LSTM")
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)
            states = None if states is None else [s.unsqueeze(1) for s in states]
        self._check_input(input, autocast)
        states = self._initial_states(states, input.shape[batch_dim], input.dtype)
        output, finals = self._run(input.transpose(0, 1) if self.batch_first else input, states)
        if self._fused_by_torch(output):
            _rename(output, "MkldnnRnnLayerBackward0")
        if self.batch_first:
            output = output.transpose(0, 1)
            if self.mode != "LSTM":  # torch's GRU and RNN transpose their result in place
                _rename(output, "TransposeBackward1")
        if not batched:
            output = output.squeeze(batch_dim)
            finals = [s.squeeze(1) for s in finals]
        return output, (tuple(finals) if self.mode == "LSTM" else finals[0])

    def _fused_by_torch(self, output: Tensor) -> bool:
        """Whether torch runs this unpacked call as one fused oneDNN layer: a float32 LSTM in one direction
        without projections (its output then prints ``grad_fn=<MkldnnRnnLayerBackward0>``)."""
        return self.mode == "LSTM" and not self.bidirectional and not self.proj_size and \
            output.dtype is dtypes.float32

    def _forward_packed(self, input: PackedSequence, hx: Any, autocast: bool) -> tuple[PackedSequence, Any]:
        """A packed batch: the output is packed alike, and each sequence's final state is taken at its last
        step. Given states are in the caller's order; they are permuted to the packed (longest first) order
        and back, as torch does."""
        data, sizes = input.data, [int(n) for n in input.batch_sizes.tolist()]
        self._check_input(data, autocast)
        states = None if hx is None else (_pair(hx) if self.mode == "LSTM" else [hx])
        if states is not None and input.sorted_indices is not None:
            states = [s.index_select(1, input.sorted_indices) for s in states]
        states = self._initial_states(states, sizes[0], data.dtype)
        output, finals = self._run(data, states, sizes)
        if input.unsorted_indices is not None:
            finals = [s.index_select(1, input.unsorted_indices) for s in finals]
        packed = PackedSequence(output, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        return packed, (tuple(finals) if self.mode == "LSTM" else finals[0])

    def _initial_states(self, states: list[Tensor] | None, batch: int, dtype: Any) -> list[Tensor]:
        """The given states checked against their expected sizes, or zeros."""
        sizes = self._state_sizes(batch)
        if states is None:
            return [zeros(*size, dtype=dtype) for size in sizes]
        for i, (state, size) in enumerate(zip(states, sizes)):
            if tuple(state.shape) != size:
                which = f"hidden[{i}] size" if self.mode == "LSTM" else "hidden size"
                raise RuntimeError(f"Expected {which} {size}, got {list(state.shape)}")
        return states

    def _check_input(self, input: Tensor, autocast: bool) -> None:
        """The input's dtype must be the weights', except in an autocast region, which casts the weights too."""
        weight_dtype = self.weight_ih_l0.dtype
        if input.dtype is not weight_dtype and not autocast:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype ({weight_dtype}). "
                             f"Convert input: input.to({weight_dtype}), or convert model: model.to({input.dtype})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")

    def _run(self, x: Tensor, states: list[Tensor],
             batch_sizes: list[int] | None = None) -> tuple[Tensor, list[Tensor]]:
        """Time-major ``x`` (T, N, features), or packed rows with their ``batch_sizes``, through every layer;
        returns the last layer's output (laid out as ``x``) and the final states stacked like ``states`` (one
        entry per (layer, direction) along axis 0)."""
        step = _MODES[self.mode][1]
        directions = 2 if self.bidirectional else 1
        initial = [s.unbind(0) for s in states]
        finals: list[State] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(index)
                state = tuple(s[index] for s in initial) if self.mode == "LSTM" else initial[0][index]
                gates = F.linear(x, w_ih, b_ih)
                inputs = gates.unbind(0) if batch_sizes is None else gates.split(batch_sizes)
                hs, state = _scan(step, (w_hh, b_hh, w_hr), inputs, state, bool(direction))
                outputs.append(stack(hs) if batch_sizes is None else cat(hs))
                finals.append(state)
            x = outputs[0] if directions == 1 else cat(outputs, -1)
            if layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
        if self.mode == "LSTM":
            return x, [stack([h for h, _ in finals]), stack([c for _, c in finals])]
        return x, [stack(finals)]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first is not False:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            text += f", bidirectional={self.bidirectional}"
        return text


def _check_sizes(input_size: Any, hidden_size: Any, num_layers: int, bias: Any, batch_first: Any, dropout: Any,
                 proj_size: int) -> None:
    """torch's constructor checks, in torch's order and wording."""
    if not isinstance(dropout, numbers.Number) or isinstance(dropout, bool) or not 0 <= dropout <= 1:
        raise ValueError("dropout should be a number in range [0, 1] representing the probability of an element "
                         "being zeroed")
    if dropout > 0 and num_layers == 1:
        warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                      f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                      stacklevel=4)
    for name, value, kind in (("bias", bias, bool), ("batch_first", batch_first, bool),
                              ("input_size", input_size, int), ("hidden_size", hidden_size, int)):
        if not isinstance(value, kind):
            raise TypeError(f"{name} should be of type {kind.__name__}, got: {type(value).__name__}")
        if kind is int and value <= 0:
            raise ValueError(f"{name} must be greater than zero")
    if num_layers <= 0:
        raise ValueError("num_layers must be greater than zero")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")


def _pair(hx: Any) -> list[Tensor]:
    """An LSTM's ``(h, c)``, read as torch reads them: ``hx[0]`` and ``hx[1]``. A single tensor given for the pair
    is indexed, as in torch (``h`` of one layer fails with torch's IndexError rather than passing as two rows)."""
    return [hx[0], hx[1]]


def _check_state_dims(states: list[Tensor], batched: bool, lstm: bool) -> None:
    want = 3 if batched else 2
    if all(s.ndim == want for s in states):
        return
    kind = "batched 3-D" if batched else "unbatched 2-D"
    if lstm:
        raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but got "
                           f"({states[0].ndim}-D, {states[1].ndim}-D) tensors")
    raise RuntimeError(f"For {kind} input, hx should also be {want}-D but got {states[0].ndim}-D tensor")


class RNN(RNNBase):
    """Elman RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or relu), stacked and optionally bidirectional."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: Any = None, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__(_NONLINEARITIES[nonlinearity], input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory; returns ``(output, (h_n, c_n))``. ``proj_size`` projects each h with ``weight_hr``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit with torch's gate order (reset, update, new) in the stacked weights."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU.__init__() got an unexpected keyword argument '{next(iter(kwargs))}'")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


# ---- one-step cells -------------------------------------------------------------------------------------


class RNNCellBase(Module):
    """``weight_ih``, ``weight_hh`` (and ``bias_ih``, ``bias_hh``) stacking ``num_chunks`` gates."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        for name in ("bias_ih", "bias_hh"):
            self.register_parameter(name, Parameter(empty(num_chunks * hidden_size, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        nonlinearity = self.__dict__.get("nonlinearity", "tanh")
        if nonlinearity != "tanh":
            text += f", nonlinearity={nonlinearity}"
        return text

    def _step(self, step: Step, input: Tensor, states: list[Tensor] | None) -> list[Tensor]:
        """One step on a 1-D or 2-D input; ``states`` default to zeros. Returns the new states."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        for i, state in enumerate(states or []):
            if state.ndim not in (1, 2):
                which = f"hx[{i}]" if name == "LSTMCell" else "hidden"
                raise ValueError(f"{name}: Expected {which} to be 1D or 2D, got {state.ndim}D instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
            states = None if states is None else [s.unsqueeze(0) for s in states]
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected {self.input_size}")
        if states is None:
            states = [zeros(input.shape[0], self.hidden_size, dtype=input.dtype)] * (2 if name == "LSTMCell" else 1)
        for i, state in enumerate(states):
            if state.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{i} batch size "
                                   f"{state.shape[0]}")
            if state.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {state.shape[1]}, expected "
                                   f"{self.hidden_size}")
        gi = F.linear(input, self.weight_ih, self.bias_ih)
        _, new = step(gi, tuple(states) if len(states) == 2 else states[0], self.weight_hh, self.bias_hh, None)
        new = list(new) if isinstance(new, tuple) else [new]
        return new if batched else [s.squeeze(0) for s in new]


class RNNCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        mode = _NONLINEARITIES.get(self.nonlinearity)
        if mode is None:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return self._step(_MODES[mode][1], input, None if hx is None else [hx])[0]


class LSTMCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if isinstance(hx, Tensor) and input.ndim == 2:  # h alone, without c: torch's kernel refuses it
            raise TypeError("lstm_cell(): argument 'hx' (position 2) must be tuple of Tensors, not Tensor")
        h, c = self._step(_lstm_step, input, None if hx is None else _pair(hx))
        return h, c


class GRUCell(RNNCellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(_gru_step, input, None if hx is None else [hx])[0]

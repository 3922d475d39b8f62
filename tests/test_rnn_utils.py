"""``nn.utils.rnn``: padding and packing variable-length sequences, and recurrent layers on packed batches,
against torch (same values, same gradients, same batch sizes and orders) and torch's error messages."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAS_TORCH, assert_close

import lazygrad
from lazygrad.nn.utils import rnn

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")
if HAS_TORCH:
    import torch
    import torch.nn.utils.rnn as torch_rnn

LENGTHS = (2, 4, 1, 4)


def sequences(T, lengths=LENGTHS, features=3):
    rng = np.random.default_rng(0)
    return [T.tensor(rng.standard_normal((n, features)), requires_grad=True) for n in lengths]


def both(fn):
    """``fn(T, R)`` on lazygrad and on torch."""
    return fn(lazygrad, rnn), fn(torch, torch_rnn)


def assert_same(ours, theirs):
    if isinstance(ours, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    elif ours is None:
        assert theirs is None
    else:
        assert_close(ours, theirs)


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"batch_first": True, "padding_value": -1.0},
                                    {"padding_side": "left", "padding_value": 2.5}])
def test_pad_sequence_matches_torch(kwargs):
    def run(T, R):
        seqs = sequences(T)
        padded = R.pad_sequence(seqs, **kwargs)
        (padded * padded).sum().backward()
        return padded, [s.grad for s in seqs]

    assert_same(*both(run))


@needs_torch
@pytest.mark.backend_agnostic
def test_results_are_new_tensors_recorded_under_torchs_names():
    """Each layout change is one gather recorded as the op torch ends with: a printed ``grad_fn`` reads alike."""
    def names(T, R):
        seqs = sequences(T, (2, 4, 3))
        found = [R.pad_sequence(seqs).grad_fn, R.pack_sequence(seqs, enforce_sorted=False).data.grad_fn]
        for batch_first in (True, False):
            for lengths, enforce_sorted in (([4, 3, 2], True), ([2, 4, 3], False)):
                padded = R.pad_sequence(seqs, batch_first=batch_first)
                packed = R.pack_padded_sequence(padded, lengths, batch_first, enforce_sorted)
                found.append(R.pad_packed_sequence(packed, batch_first)[0].grad_fn)
        return [type(f).__name__ for f in found]

    ours, theirs = both(names)
    assert ours == theirs


def test_a_batch_of_computed_sequences_is_padded_at_once():
    """A collate_fn pads each batch of a DataLoader: padding computed sequences computes the batch (and the view's
    base) at once, so no pending tensor reads the sequences and a step's program does not depend on each one's
    length. Sequences that need a gradient stay in the graph."""
    from lazygrad import realization

    batch = [lazygrad.tensor(s) for s in ([1, 2, 3], [4], [5, 6])]
    padded = rnn.pad_sequence(batch, batch_first=True, padding_value=-100)
    pending = [r() for r in realization._tracked.pending if r() is not None and r().node.buffer is None]
    assert padded.node.buffer is not None and pending == []
    assert padded.tolist() == [[1, 2, 3], [4, -100, -100], [5, 6, -100]]
    assert rnn.pad_sequence(batch).t().tolist() == [[1, 2, 3], [4, 0, 0], [5, 6, 0]]
    learned = [lazygrad.ones(2, requires_grad=True), lazygrad.ones(1, requires_grad=True)]
    grown = rnn.pad_sequence(learned)
    assert grown.node.buffer is None and grown.grad_fn is not None


@needs_torch
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_padded_and_pad_packed_match_torch(batch_first, enforce_sorted):
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS

    def run(T, R):
        seqs = sequences(T, lengths)
        padded = R.pad_sequence(seqs, batch_first=batch_first)
        packed = R.pack_padded_sequence(padded, T.tensor(lengths), batch_first, enforce_sorted)
        back, found = R.pad_packed_sequence(packed, batch_first, padding_value=-3.0, total_length=5)
        (back * back.tanh()).sum().backward()
        return (packed.data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices, back, found,
                [s.grad for s in seqs])

    assert_same(*both(run))


@needs_torch
def test_pack_sequence_and_unpack_sequence_match_torch():
    def run(T, R):
        packed = R.pack_sequence(sequences(T), enforce_sorted=False)
        return packed.data, packed.batch_sizes, R.unpack_sequence(packed)

    assert_same(*both(run))


@needs_torch
@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
def test_recurrent_layers_on_a_packed_batch_match_torch(cls):
    """Packed output, final states at each sequence's last step (in the caller's order), and gradients."""
    rng = np.random.default_rng(1)
    module = getattr(lazygrad.nn, cls)(3, 4, num_layers=2, bidirectional=True)
    weights = {k: rng.standard_normal(v.shape) * 0.3 for k, v in module.state_dict().items()}
    x0, h0 = rng.standard_normal((4, 4, 3)), rng.standard_normal((4, 4, 4))

    def run(T, R):
        m = getattr(T.nn, cls)(3, 4, num_layers=2, bidirectional=True).double()
        m.load_state_dict({k: T.tensor(v) for k, v in weights.items()})
        x = T.tensor(x0, requires_grad=True)
        packed = R.pack_padded_sequence(x, [2, 4, 1, 3], enforce_sorted=False)
        hx = (T.tensor(h0), T.tensor(h0 * 0.5)) if cls == "LSTM" else T.tensor(h0)
        out, state = m(packed, hx)
        padded, _ = R.pad_packed_sequence(out, batch_first=True)
        states = list(state) if cls == "LSTM" else [state]
        (padded.sum() + sum(s.square().sum() for s in states)).backward()
        return (out.data, out.batch_sizes, out.sorted_indices, states, x.grad,
                [p.grad for p in m.parameters()])

    ours, theirs = both(run)
    assert type(lazygrad.nn.LSTM(3, 4)(rnn.pack_sequence([lazygrad.ones(2, 3)]))[0]) is rnn.PackedSequence
    assert_same(ours, theirs)


def test_unsorted_indices_are_derived():
    packed = rnn.PackedSequence(lazygrad.zeros(3, 1), lazygrad.tensor([2, 1]), lazygrad.tensor([1, 0]))
    assert packed.unsorted_indices.tolist() == [1, 0]
    assert rnn.PackedSequence(lazygrad.zeros(3, 1), lazygrad.tensor([2, 1])).unsorted_indices is None


ERRORS = [
    (lambda: rnn.pack_padded_sequence(lazygrad.ones(3, 2, 1), [2, 3]),
     "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
     "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement if you do not "
     "need ONNX exportability."),
    (lambda: rnn.pack_padded_sequence(lazygrad.ones(3, 2, 1), [3, 0]),
     "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"),
    (lambda: rnn.pack_padded_sequence(lazygrad.ones(3, 2, 1), [3, 2, 1]),
     "Expected `len(lengths)` to be equal to batch_size, but got 3 (batch_size=2)"),
    (lambda: rnn.pad_sequence([lazygrad.ones(2)], padding_side="up"),
     "Expected padding_side to be one of left or right, but got up."),
    (lambda: rnn.pad_sequence([]), "received an empty list of sequences"),
]


@pytest.mark.backend_agnostic
@pytest.mark.parametrize("index", range(len(ERRORS)))
def test_errors_match_torch(index):
    make, message = ERRORS[index]
    with pytest.raises(RuntimeError) as error:
        make()
    assert str(error.value) == message


@pytest.mark.backend_agnostic
def test_total_length_shorter_than_the_longest_sequence_is_rejected():
    packed = rnn.pack_sequence([lazygrad.ones(3, 1)])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        rnn.pad_packed_sequence(packed, total_length=2)

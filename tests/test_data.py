"""``lazygrad.utils.data``: datasets, samplers, collation and the DataLoader, against torch when installed.

Every batch is compared in a plain form (container kinds, dtype names, values), so a difference in what
the loop body receives (a tuple where torch gives a list, float32 where torch gives float64) fails.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lazygrad as torch
from lazygrad import shared_memory
from lazygrad.utils import data
from lazygrad.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    default_collate,
    default_convert,
    random_split,
)
from tests.helpers import HAS_TORCH

if HAS_TORCH:
    import torch as real_torch
    import torch.utils.data as real_data

needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs torch")

Point = collections.namedtuple("Point", "x y")


def plain(value: Any) -> Any:
    """A comparable form of a batch from either library: tensors become (dtype name, shape, values)."""
    if isinstance(value, torch.Tensor) or (HAS_TORCH and isinstance(value, real_torch.Tensor)):
        return ("tensor", str(value.dtype).split(".")[-1], tuple(value.shape), value.tolist())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return (type(value).__name__, *map(plain, value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [plain(v) for v in value])
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def pair_datasets(n: int = 7) -> tuple[TensorDataset, Any]:
    """The same two-tensor dataset in lazygrad and (when installed) torch: int64 labels, float32 rows."""
    x, y = np.arange(2 * n, dtype=np.float32).reshape(n, 2), np.arange(n) % 3
    mine = TensorDataset(torch.tensor(x), torch.tensor(y))
    theirs = real_data.TensorDataset(real_torch.tensor(x), real_torch.tensor(y)) if HAS_TORCH else None
    return mine, theirs


# ---- DataLoader over a TensorDataset ------------------------------------------------------------------------


@pytest.mark.parametrize(("batch_size", "drop_last"), [(3, False), (3, True), (1, False), (7, False), (None, False)])
def test_batches_in_order_match_torch(batch_size: int | None, drop_last: bool) -> None:
    mine, theirs = pair_datasets()
    got = [plain(b) for b in DataLoader(mine, batch_size=batch_size, drop_last=drop_last)]
    assert len(got) == len(DataLoader(mine, batch_size=batch_size, drop_last=drop_last))
    if HAS_TORCH:
        assert got == [plain(b) for b in real_data.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last)]
    else:  # batch 0 holds rows 0..batch_size-1 of each tensor, as a list (without batching: row 0 itself)
        first = got[0]
        rows = first[1][0][3]
        assert first[0] == "list" and (rows if batch_size is None else rows[0]) == [0.0, 1.0]


def test_batch_is_the_rows_at_the_sampled_indices() -> None:
    mine, _ = pair_datasets()
    indices = [[4, 0, 6], [2, 2, -1]]
    for (x, y), chosen in zip(DataLoader(mine, batch_sampler=indices), indices):
        np.testing.assert_array_equal(x.numpy(), mine.tensors[0].numpy()[chosen])
        np.testing.assert_array_equal(y.numpy(), mine.tensors[1].numpy()[chosen])


def test_direct_batch_equals_collating_the_samples() -> None:
    mine, _ = pair_datasets()
    indices = [5, 1, -2, 0]
    direct = data.dataset.fetch(mine, indices, default_collate)
    assert plain(direct) == plain(default_collate([mine[i] for i in indices]))


def test_direct_batch_rejects_an_index_out_of_range_as_indexing_does() -> None:
    mine, _ = pair_datasets()
    with pytest.raises(IndexError, match="index 7 is out of bounds for dimension 0 with size 7"):
        next(iter(DataLoader(mine, batch_sampler=[[1, 7]])))


def test_every_full_batch_runs_the_same_program() -> None:
    """The batch's indices are data, not structure: reading three batches compiles one program."""
    mine, _ = pair_datasets(n=9)
    torch.realize()
    torch.reset_metrics()
    sums = [x.sum().item() for x, _ in DataLoader(mine, batch_size=3, shuffle=True)]
    assert len(sums) == 3 and torch.metrics()["compiles"] <= 1
    assert sum(sums) == float(np.arange(18).sum())


def test_a_batch_of_host_tensors_is_collated_at_once_and_shares_no_memory_with_numpy(backend: str) -> None:
    """On numpy a batch is gathered when collated, as torch collates, so reading its lengths in a step (a CTC loss)
    runs no program; on jax the gather stays in the step's program. No collation leaves memory numpy may write,
    whose watch would tax every op built meanwhile."""
    features, lengths = torch.arange(24.0).reshape(8, 3), torch.tensor([3, 1, 4, 1, 5, 9, 2, 6])
    torch.realize()
    torch.reset_metrics()
    shared_before = set(shared_memory._shared)  # arrays other code shares may be alive: none may be added
    batches = []
    for x, n in DataLoader(data.TensorDataset(features, lengths), batch_size=4, shuffle=True):
        batches.append((x, n.tolist()))
        assert set(shared_memory._shared) <= shared_before
    assert torch.metrics()["executions"] == (0 if backend == "numpy" else 2)
    for x, n in batches:
        assert n == [[3, 1, 4, 1, 5, 9, 2, 6][int(first) // 3] for first in x[:, 0].tolist()]


def test_subset_of_a_tensor_dataset_batches_the_chosen_rows() -> None:
    mine, _ = pair_datasets()
    subset = Subset(mine, [6, 3, 1])
    (x, y), = DataLoader(subset, batch_size=3)
    np.testing.assert_array_equal(y.numpy(), mine.tensors[1].numpy()[[6, 3, 1]])
    assert plain([x, y]) == plain(default_collate([subset[i] for i in range(3)]))


def test_custom_collate_fn_receives_the_list_of_samples() -> None:
    mine, _ = pair_datasets()
    seen = list(DataLoader(mine, batch_size=4, collate_fn=lambda samples: len(samples)))
    assert seen == [4, 3]


def test_workers_are_accepted_and_give_the_same_batches() -> None:
    mine, _ = pair_datasets()
    alone = [plain(b) for b in DataLoader(mine, batch_size=3)]
    assert [plain(b) for b in DataLoader(mine, batch_size=3, num_workers=2, pin_memory=True, prefetch_factor=2,
                                         persistent_workers=True)] == alone
    assert data.get_worker_info() is None


# ---- shuffling --------------------------------------------------------------------------------------------


def epoch(loader: DataLoader) -> list[int]:
    return [int(i) for (batch,) in loader for i in batch.tolist()]


def test_shuffle_visits_every_index_once() -> None:
    ds = TensorDataset(torch.arange(10))
    order = epoch(DataLoader(ds, batch_size=4, shuffle=True))
    assert sorted(order) == list(range(10))


def test_shuffle_with_a_seeded_generator_is_deterministic() -> None:
    ds = TensorDataset(torch.arange(10))
    runs = [epoch(DataLoader(ds, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(3)))
            for _ in range(2)]
    assert runs[0] == runs[1] and runs[0] != list(range(10))


def test_each_pass_draws_a_new_order_and_manual_seed_repeats_them() -> None:
    ds = TensorDataset(torch.arange(10))
    loader = DataLoader(ds, batch_size=5, shuffle=True)
    torch.manual_seed(11)
    first = [epoch(loader), epoch(loader)]
    torch.manual_seed(11)
    assert [epoch(loader), epoch(loader)] == first and first[0] != first[1]


@given(st.integers(1, 6), st.integers(1, 20), st.booleans())
def test_random_sampler_counts(n: int, num_samples: int, replacement: bool) -> None:
    drawn = list(RandomSampler(range(n), replacement=replacement, num_samples=num_samples))
    assert len(drawn) == num_samples and all(0 <= i < n for i in drawn)
    if not replacement:  # whole permutations first: every index appears num_samples // n or one more times
        counts = np.bincount(drawn, minlength=n)
        assert counts.min() >= num_samples // n and counts.max() <= -(-num_samples // n)


def test_subset_random_sampler_permutes_the_given_indices() -> None:
    indices = [10, 20, 30, 40]
    drawn = list(SubsetRandomSampler(indices, generator=torch.Generator().manual_seed(0)))
    assert sorted(drawn) == indices
    assert drawn == list(SubsetRandomSampler(indices, generator=torch.Generator().manual_seed(0)))


# ---- lengths and samplers (no tensors) ------------------------------------------------------------------


@given(st.integers(0, 12), st.integers(1, 5), st.booleans())
def test_len_and_batch_indices_match_torch(n: int, batch_size: int, drop_last: bool) -> None:
    batches = list(BatchSampler(SequentialSampler(range(n)), batch_size, drop_last))
    assert len(BatchSampler(range(n), batch_size, drop_last)) == len(batches)
    assert len(DataLoader(list(range(n)), batch_size=batch_size, drop_last=drop_last)) == len(batches)
    expected = [list(range(i, min(i + batch_size, n))) for i in range(0, n, batch_size)]
    assert batches == [b for b in expected if len(b) == batch_size or not drop_last]
    if HAS_TORCH:
        assert batches == list(real_data.BatchSampler(range(n), batch_size, drop_last))


def test_sampler_base_class_must_be_subclassed() -> None:
    with pytest.raises(NotImplementedError):
        iter(data.Sampler())
    with pytest.raises(NotImplementedError, match=r"Subclasses of Dataset should implement __getitem__\."):
        Dataset()[0]


# torch's messages, recorded from torch 2.13.
BAD_SAMPLERS = [
    (lambda: BatchSampler(range(3), 0, False), ValueError, "batch_size should be a positive integer value, but got "
     "batch_size=0"),
    (lambda: BatchSampler(range(3), 2, 1), ValueError, "drop_last should be a boolean value, but got drop_last=1"),
    (lambda: RandomSampler(range(3), replacement=1), TypeError, "replacement should be a boolean value, but got "
     "replacement=1"),
    (lambda: RandomSampler(range(3), num_samples=0), ValueError, "num_samples should be a positive integer value, "
     "but got num_samples=0"),
]


@pytest.mark.parametrize(("make", "error", "message"), BAD_SAMPLERS)
def test_sampler_arguments_are_checked_as_in_torch(make: Any, error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        make()
    assert str(raised.value) == message


BAD_LOADERS = [
    ({"sampler": [0], "shuffle": True}, "sampler option is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler option is mutually exclusive with batch_size, "
     "shuffle, sampler, and drop_last"),
    ({"batch_size": None, "drop_last": True}, "batch_size=None option disables auto-batching and is mutually "
     "exclusive with drop_last"),
    ({"num_workers": -1}, "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing."),
    ({"timeout": -1}, "timeout option should be non-negative"),
    ({"prefetch_factor": 2}, "prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
     "to enable multiprocessing, otherwise set prefetch_factor to None."),
    ({"persistent_workers": True}, "persistent_workers option needs num_workers > 0"),
    ({"batch_size": 0}, "batch_size should be a positive integer value, but got batch_size=0"),
]


@pytest.mark.parametrize(("options", "message"), BAD_LOADERS)
def test_loader_options_are_checked_as_in_torch(options: dict, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        DataLoader(list(range(4)), **options)
    assert str(raised.value) == message
    if HAS_TORCH:
        with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
            real_data.DataLoader(list(range(4)), **options)


def test_loader_settings_are_frozen_after_construction() -> None:
    loader = DataLoader(list(range(4)))
    with pytest.raises(ValueError, match="batch_size attribute should not be set after DataLoader is initialized"):
        loader.batch_size = 3
    loader.num_workers = 1  # not one of the frozen settings


# ---- collation ----------------------------------------------------------------------------------------------


COLLATE_CASES = [
    [1, 2], [1.0, 2.0], [True, False], [np.float32(1), np.float32(2)], [np.int32(1)], [np.float64(1)],
    [np.array([1, 2]), np.array([3, 4])], [np.array(1.0)], [(1, 2.0), (3, 4.0)], [[1, 2], [3, 4]],
    [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}], [Point(1, 2.0), Point(3, 4.0)], ["s", "t"], [b"a"],
    [(0, "a"), (1, "b")], [[0, "a"], [1, "b"]],
]


@pytest.mark.parametrize("batch", COLLATE_CASES, ids=repr)
def test_default_collate_matches_torch(batch: list) -> None:
    got = plain(default_collate(batch))
    if HAS_TORCH:
        assert got == plain(real_data.default_collate(batch))
    else:
        assert got is not None


def test_default_collate_stacks_tensors_and_keeps_float64_numbers_exact() -> None:
    stacked = default_collate([torch.tensor([1, 2]), torch.tensor([3, 4])])
    assert stacked.shape == (2, 2) and stacked.tolist() == [[1, 2], [3, 4]]
    numbers = default_collate([0.1, 0.2])
    assert numbers.dtype is torch.float64 and numbers.tolist() == [0.1, 0.2]


COLLATE_ERRORS = [
    ([None], TypeError, "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found "
     "<class 'NoneType'>"),
    ([np.array(["a"])], TypeError, "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
     "lists; found <U1"),
    ([[1], [2, 3]], RuntimeError, "each element in list of batch should be of equal size"),
]


@pytest.mark.parametrize(("batch", "error", "message"), COLLATE_ERRORS)
def test_default_collate_errors_match_torch(batch: list, error: type, message: str) -> None:
    with pytest.raises(error) as raised:
        default_collate(batch)
    assert str(raised.value) == message


@pytest.mark.parametrize("sample", [np.array([1.0, 2.0]), (np.array([1]), 3), Point(np.array([1]), 2),
                                    [np.float32(1)], "text", {"k": np.int64(2)}], ids=repr)
def test_default_convert_matches_torch(sample: Any) -> None:
    got = plain(default_convert(sample))
    if HAS_TORCH:
        assert got == plain(real_data.default_convert(sample))
    else:
        assert got is not None


def test_without_batching_samples_are_converted_one_by_one() -> None:
    mine, theirs = pair_datasets(n=2)
    got = [plain(b) for b in DataLoader(mine, batch_size=None)]
    assert got[0][1][1][3] == 0  # the label of row 0, a 0-d tensor
    if HAS_TORCH:
        assert got == [plain(b) for b in real_data.DataLoader(theirs, batch_size=None)]


# ---- datasets ---------------------------------------------------------------------------------------------


def test_tensor_dataset_rows_and_size_check() -> None:
    mine, _ = pair_datasets()
    x, y = mine[2]
    assert (x.tolist(), y.item(), len(mine)) == ([4.0, 5.0], 2, 7)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(torch.zeros(2), torch.zeros(3))


def test_concat_dataset_indexes_across_parts() -> None:
    joined = ConcatDataset([list(range(3)), list(range(10, 14))])
    assert (len(joined), joined.cumulative_sizes) == (7, [3, 7])
    assert [joined[i] for i in range(7)] == [0, 1, 2, 10, 11, 12, 13] and joined[-1] == 13
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        joined[-8]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])


def test_adding_datasets_concatenates_them() -> None:
    mine, _ = pair_datasets(n=2)
    both = mine + mine
    assert isinstance(both, ConcatDataset) and len(both) == 4 and both[3][1].item() == 1


@pytest.mark.parametrize(("n", "lengths"), [(10, [3, 7]), (10, [0.33, 0.33, 0.34]), (11, [0.5, 0.5]), (2, [0.1, 0.9])])
def test_random_split_lengths_match_torch_and_partition_the_dataset(n: int, lengths: list) -> None:
    parts = random_split(range(n), lengths, generator=torch.Generator().manual_seed(0))
    sizes = [len(p) for p in parts]
    if HAS_TORCH:
        assert sizes == [len(p) for p in real_data.random_split(range(n), lengths)]
    assert sorted(i for p in parts for i in p) == list(range(n))


def test_random_split_with_a_seeded_generator_is_deterministic() -> None:
    first, second = ([list(p) for p in random_split(range(8), [4, 4], generator=torch.Generator().manual_seed(5))]
                     for _ in range(2))
    assert first == second


def test_random_split_rejects_lengths_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length of the input dataset!"):
        random_split(range(10), [3, 3])


# ---- iterable datasets ----------------------------------------------------------------------------------------


class Stream(IterableDataset):
    def __iter__(self) -> Iterator[int]:
        return iter(range(7))


@pytest.mark.parametrize(("batch_size", "drop_last"), [(3, False), (3, True), (None, False)])
def test_iterable_dataset_batches_match_torch(batch_size: int | None, drop_last: bool) -> None:
    got = [plain(b) for b in DataLoader(Stream(), batch_size=batch_size, drop_last=drop_last)]
    expected_count = {(3, False): 3, (3, True): 2, (None, False): 7}[(batch_size, drop_last)]
    assert len(got) == expected_count
    if HAS_TORCH:
        class TorchStream(real_data.IterableDataset):
            def __iter__(self) -> Iterator[int]:
                return iter(range(7))

        assert got == [plain(b) for b in real_data.DataLoader(TorchStream(), batch_size=batch_size,
                                                              drop_last=drop_last)]


@pytest.mark.parametrize("option", ["shuffle", "sampler", "batch_sampler"])
def test_iterable_dataset_refuses_ordering_options(option: str) -> None:
    value = {"shuffle": True, "sampler": [0], "batch_sampler": [[0]]}[option]
    with pytest.raises(ValueError, match=f"DataLoader with IterableDataset: expected unspecified {option} option, "
                                         f"but got {option}="):
        DataLoader(Stream(), **{option: value})


@given(size=st.integers(0, 40), replicas=st.integers(1, 5), shuffle=st.booleans(), drop_last=st.booleans(),
       seed=st.integers(0, 100), epoch=st.integers(0, 3))
def test_distributed_sampler_splits_one_order_between_processes(size, replicas, shuffle, drop_last, seed, epoch):
    """Each rank gets every replicas-th index of one order, all ranks as many; together they cover the dataset
    (once each, or with the start repeated to even them out); torch draws the same shares."""
    shares = []
    for rank in range(replicas):
        sampler = data.DistributedSampler(range(size), replicas, rank, shuffle, seed, drop_last)
        sampler.set_epoch(epoch)
        shares.append(list(sampler))
        assert len(shares[-1]) == len(sampler)
        if HAS_TORCH:
            theirs = real_data.DistributedSampler(range(size), replicas, rank, shuffle, seed, drop_last)
            theirs.set_epoch(epoch)
            assert shares[-1] == list(theirs)
    assert len({len(s) for s in shares}) == 1
    seen = collections.Counter(i for s in shares for i in s)
    if drop_last:
        assert sum(seen.values()) == size - size % replicas and max(seen.values(), default=1) == 1
    elif size:
        assert set(seen) == set(range(size)) and max(seen.values()) <= math.ceil(replicas / size) + 1


def test_distributed_sampler_needs_a_process_group_or_its_place():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        data.DistributedSampler(range(4))
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        data.DistributedSampler(range(4), num_replicas=3, rank=3)


def test_stack_and_chain_datasets():
    stacked = data.StackDataset(torch.arange(3), [10, 20, 30])
    assert len(stacked) == 3 and stacked[1][0].item() == 1 and stacked[1][1] == 20
    assert data.StackDataset(image=[1, 2], label=[3, 4])[1] == {"image": 2, "label": 4}
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        data.StackDataset([1, 2], [1])
    batch = next(iter(DataLoader(data.StackDataset(torch.arange(4.0), torch.arange(4)), batch_size=4)))
    assert [b.tolist() for b in batch] == [[0.0, 1.0, 2.0, 3.0], [0, 1, 2, 3]]

    class Stream(IterableDataset):
        def __init__(self, values):
            self.values = values

        def __iter__(self):
            return iter(self.values)

        def __len__(self):
            return len(self.values)

    chained = data.ChainDataset([Stream([1, 2]), Stream([3])])
    assert list(chained) == [1, 2, 3] and len(chained) == 3

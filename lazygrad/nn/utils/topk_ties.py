"""Which positions torch's CPU ``topk`` picks when values tie at the boundary of the ``k`` chosen.

lazygrad's ``topk`` is a stable sort's first ``k`` positions, so among equal values it picks the first ones.
torch's CPU kernel selects with C++'s ``std::partial_sort`` (when ``64 * k <= n``) or ``std::nth_element``,
comparing values only, so which of several equal values it picks is whatever those algorithms leave in front.
Pruning turns the picked positions into a mask, so a pruned model matches torch's only if ties are broken the
same way: this module replays the two algorithms as GNU libstdc++ (the C++ library torch's Linux wheels are
built with) writes them, on the host. When no tie straddles the boundary the choice is plain and numpy makes it.
"""

from __future__ import annotations

import numpy as np

# libstdc++'s nth_element sorts ranges this short by insertion instead of partitioning them further
_SHORT_RANGE = 3


def torch_topk_positions(values: np.ndarray, k: int, largest: bool) -> np.ndarray:
    """The positions of the ``k`` largest (or smallest) of the 1-d ``values``, ties broken as torch's CPU ``topk``
    breaks them (NaN counts as larger than every number, as there); in no particular order."""
    ranks = _ranks(values, largest)
    if k == 0:
        return np.empty(0, np.int64)
    boundary = np.partition(ranks, k - 1)[k - 1]
    if np.count_nonzero(ranks <= boundary) == k:  # no tie straddles the boundary: every choice agrees
        return np.flatnonzero(ranks <= boundary)
    queue = list(zip(ranks.tolist(), range(len(ranks)), strict=True))
    if 64 * k <= len(queue):
        _heap_select(queue, 0, k, len(queue))
    else:
        _nth_element(queue, k - 1)
    return np.array(sorted(position for _, position in queue[:k]), np.int64)


def _ranks(values: np.ndarray, largest: bool) -> np.ndarray:
    """Integer keys whose ascending order is the order of selection: ties stay ties, NaNs tie with each other."""
    _, ranks = np.unique(values, return_inverse=True)  # NaNs sort last and share one rank
    ranks = ranks.reshape(-1).astype(np.int64)
    return -ranks if largest else ranks


# The helpers below work in place on a list of (rank, position) pairs and compare ranks only, as torch's
# comparator compares values only; each follows the libstdc++ function of the same name step by step.


def _heap_select(queue: list, first: int, middle: int, last: int) -> None:
    """Leave the ``middle - first`` smallest of ``queue[first:last]`` in ``queue[first:middle]`` (as a heap)."""
    _make_heap(queue, first, middle)
    for i in range(middle, last):
        if queue[i][0] < queue[first][0]:
            value = queue[i]
            queue[i] = queue[first]
            _adjust_heap(queue, first, 0, middle - first, value)


def _make_heap(queue: list, first: int, last: int) -> None:
    length = last - first
    if length < 2:
        return
    for parent in range((length - 2) // 2, -1, -1):
        _adjust_heap(queue, first, parent, length, queue[first + parent])


def _adjust_heap(queue: list, first: int, hole: int, length: int, value: tuple) -> None:
    """Sift the hole at ``hole`` down to a leaf through the larger children, then ``value`` up into place."""
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if queue[first + child][0] < queue[first + child - 1][0]:
            child -= 1
        queue[first + hole] = queue[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        queue[first + hole] = queue[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and queue[first + parent][0] < value[0]:
        queue[first + hole] = queue[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    queue[first + hole] = value


def _nth_element(queue: list, nth: int) -> None:
    """Put the element of rank ``nth`` at ``nth``, no larger one before it and no smaller one after it."""
    first, last = 0, len(queue)
    depth_limit = 2 * (last.bit_length() - 1)
    while last - first > _SHORT_RANGE:
        if depth_limit == 0:
            _heap_select(queue, first, nth + 1, last)
            queue[first], queue[nth] = queue[nth], queue[first]
            return
        depth_limit -= 1
        cut = _partition_around_median(queue, first, last)
        if cut <= nth:
            first = cut
        else:
            last = cut
    _insertion_sort(queue, first, last)


def _partition_around_median(queue: list, first: int, last: int) -> int:
    """Move the median of three to ``first``, partition the rest around it, and return where the halves meet."""
    median = _median_of_three(queue, first + 1, first + (last - first) // 2, last - 1)
    queue[first], queue[median] = queue[median], queue[first]
    pivot = queue[first][0]
    low, high = first + 1, last
    while True:
        while queue[low][0] < pivot:
            low += 1
        high -= 1
        while pivot < queue[high][0]:
            high -= 1
        if low >= high:
            return low
        queue[low], queue[high] = queue[high], queue[low]
        low += 1


def _median_of_three(queue: list, a: int, b: int, c: int) -> int:
    ra, rb, rc = queue[a][0], queue[b][0], queue[c][0]
    if ra < rb:
        return b if rb < rc else c if ra < rc else a
    return a if ra < rc else c if rb < rc else b


def _insertion_sort(queue: list, first: int, last: int) -> None:
    for i in range(first + 1, last):
        value = queue[i]
        if value[0] < queue[first][0]:
            queue[first + 1:i + 1] = queue[first:i]
            queue[first] = value
        else:
            j = i
            while value[0] < queue[j - 1][0]:
                queue[j] = queue[j - 1]
                j -= 1
            queue[j] = value

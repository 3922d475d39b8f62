"""``DistributedSampler``: the share of a dataset that one process of a data-parallel job visits."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator, Sized

from ...creation import Generator
from .sampler import Sampler, permutation


def _process_group() -> tuple[int, int]:
    """The job's size and this process's rank. A process group exists only once ``lazygrad.distributed`` (which
    needs jax) was imported and initialized, so the sampler does not import it."""
    dist = sys.modules.get("lazygrad.distributed")
    if dist is None or not dist.is_initialized():
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return dist.get_world_size(), dist.get_rank()


class DistributedSampler(Sampler[int]):
    """Every ``num_replicas``-th index of one order all processes share, starting at ``rank``: shuffled by
    ``seed + epoch`` (call ``set_epoch`` each epoch) as torch shuffles it, then padded by repeating its start so
    each process gets as many samples, or cut to that with ``drop_last``."""

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            size, own = _process_group()
            num_replicas = size if num_replicas is None else num_replicas
            rank = own if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.epoch, self.drop_last, self.shuffle, self.seed = 0, drop_last, shuffle, seed
        if drop_last and len(dataset) % num_replicas:
            self.num_samples = math.ceil((len(dataset) - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(len(dataset) / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = Generator()
            generator.manual_seed(self.seed + self.epoch)
            order = permutation(len(self.dataset), generator)
        else:
            order = list(range(len(self.dataset)))
        if self.drop_last:
            order = order[:self.total_size]
        elif order:
            order = (order * math.ceil(self.total_size / len(order)))[:self.total_size]
        return iter(order[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

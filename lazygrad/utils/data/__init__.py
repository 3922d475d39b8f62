"""``torch.utils.data``: datasets, samplers and the DataLoader that batches them.

``from lazygrad.utils.data import DataLoader, TensorDataset`` (or, with ``import lazygrad as torch``,
``torch.utils.data.DataLoader``) works as in torch. Batches are ordinary lazy tensors: a batch of a
``TensorDataset`` is one gather per tensor, so it joins the training step's program instead of forcing
a computation of its own.
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader, get_worker_info
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset", "RandomSampler", "Sampler",
    "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "default_collate", "default_convert",
    "WeightedRandomSampler", "get_worker_info", "random_split", "ChainDataset", "DistributedSampler", "StackDataset",
]

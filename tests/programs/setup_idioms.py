# The set-up lines of training scripts found in the wild: thread and precision settings, determinism, a model
# wrapped in DataParallel, buffers declared with nn.Buffer, a TorchScript-decorated helper, per-rank data shards
# from DistributedSampler, paired datasets, and a checkpoint loaded back into the unwrapped model.
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, DistributedSampler, StackDataset, TensorDataset

torch.set_num_threads(1)
torch.set_float32_matmul_precision("high")
torch.use_deterministic_algorithms(True)
random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
print(torch.get_num_threads(), torch.get_float32_matmul_precision(), torch.are_deterministic_algorithms_enabled())


@torch.jit.script
def scaled_tanh(x: torch.Tensor, scale: float) -> torch.Tensor:
    return torch.tanh(x) * scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)
        self.mean = nn.Buffer(torch.zeros(6))
        self.calls = nn.Buffer(torch.zeros((), dtype=torch.long), persistent=False)

    def forward(self, x):
        self.calls += 1
        return self.fc2(scaled_tanh(self.fc1(x - self.mean), 2.0))


features = torch.randn(40, 6)
labels = torch.randint(0, 3, (40,))
model = nn.DataParallel(Net())
print(model)
print(sorted(model.state_dict().keys()))
model.module.mean.copy_(features.mean(0))

shards = [list(DistributedSampler(range(40), num_replicas=4, rank=r, shuffle=True, seed=1)) for r in range(4)]
print(shards[0], sorted(i for shard in shards for i in shard) == list(range(40)))
sampler = DistributedSampler(TensorDataset(features, labels), num_replicas=2, rank=1, seed=3)
loader = DataLoader(StackDataset(x=features, y=labels), batch_size=8, sampler=sampler)
opt = torch.optim.SGD(model.parameters(), lr=0.2)
for epoch in range(3):
    sampler.set_epoch(epoch)
    total = 0.0
    for batch in loader:
        loss = F.cross_entropy(model(batch["x"]), batch["y"])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    print(epoch, len(loader), round(total, 4))
print("calls:", model.module.calls.item())

state = {k.removeprefix("module."): v for k, v in model.state_dict().items()}
plain = Net()
print(plain.load_state_dict(state))
with torch.no_grad():
    print(torch.allclose(plain(features), model(features)), plain(features[:2]))
print(torch.typename(features), torch.can_cast(torch.float32, torch.int64), torch.asarray([1, 2]) + 1)

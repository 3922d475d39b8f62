import os
import tempfile
import torch
import torch.nn as nn
from torch.utils.data import (ConcatDataset, DataLoader, Dataset, Subset, WeightedRandomSampler, random_split)

torch.manual_seed(11)


class Points(Dataset):
    def __init__(self, n, shift):
        self.x = torch.randn(n, 3) + shift
        self.y = (self.x.sum(1) > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "y": self.y[i], "idx": i}


full = ConcatDataset([Points(60, -0.5), Points(40, 0.5)])
train, val = random_split(full, [0.8, 0.2])
print(len(full), len(train), len(val), type(train).__name__)
weights = [2.0 if full[i]["y"].item() == 1 else 1.0 for i in train.indices]
sampler = WeightedRandomSampler(weights, num_samples=len(weights), replacement=True)
loader = DataLoader(train, batch_size=16, sampler=sampler, drop_last=True)
batch = next(iter(loader))
print(sorted(batch), batch["x"].shape, batch["y"].dtype, batch["idx"][:4])


def collate(items):
    xs = torch.stack([it["x"] for it in items])
    return xs, torch.tensor([it["y"] for it in items])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(3, 8), nn.Linear(8, 8)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(8, 2), "aux": nn.Linear(8, 1)})
        self.scale = nn.ParameterList([nn.Parameter(torch.ones(1)) for _ in range(2)])
        self.register_buffer("calls", torch.zeros((), dtype=torch.long), persistent=False)

    def forward(self, x):
        self.calls += 1
        for block, s in zip(self.blocks, self.scale):
            x = torch.relu(block(x)) * s
        return self.heads["cls"](x), self.heads["aux"](x)


def init(m):
    if isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.constant_(m.bias, 0.01)


net = Net()
net.apply(init)
acts = {}
net.blocks[1].register_forward_hook(lambda mod, inp, out: acts.__setitem__("b1", out.detach()))
opt = torch.optim.SGD([{"params": net.blocks.parameters()}, {"params": net.heads.parameters(), "lr": 0.05}],
                      lr=0.1, momentum=0.9)
opt.add_param_group({"params": net.scale.parameters(), "lr": 0.01})
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1)
ce = nn.CrossEntropyLoss()
for epoch in range(6):
    for xs, ys in DataLoader(train, batch_size=20, shuffle=True, collate_fn=collate):
        logits, aux = net(xs)
        loss = ce(logits, ys) + 0.1 * aux.pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        xv, yv = collate([val[i] for i in range(len(val))])
        vloss = ce(net(xv)[0], yv)
    plateau.step(vloss)
    print(epoch, f"{vloss.item():.4f}", [g["lr"] for g in opt.param_groups])
print(net.calls, acts["b1"].shape, "calls" in net.state_dict(), len(list(net.named_modules())))
vec = nn.utils.parameters_to_vector(net.parameters())
print(vec.shape, f"{vec.norm().item():.4f}")
nn.utils.vector_to_parameters(vec * 0 + 1, net.parameters())
print(net.heads["aux"].bias)
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "net.pt")
    torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "epoch": 6}, path)
    again = Net()
    checkpoint = torch.load(path)
    print(again.load_state_dict(checkpoint["model"]), checkpoint["epoch"], sorted(checkpoint["opt"]))
    print(torch.equal(again.blocks[0].weight, net.blocks[0].weight), checkpoint["opt"]["param_groups"][2]["lr"])


@torch.no_grad()
def predict(x):
    return net(x)[0].argmax(1)


print(predict(torch.zeros(2, 3)), predict(torch.zeros(1, 3)).requires_grad)
sub = Subset(full, [0, 1, 2])
print(len(sub), sub[1]["idx"])

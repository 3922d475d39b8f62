import math

import torch
import torch.nn as nn
from torch.distributions import MultivariateNormal, Normal

# A RealNVP normalizing flow on two moons: affine coupling layers with alternating masks, the exact log
# likelihood through the change of variables, sampling by inverting the couplings, and a mixture density
# network beside it (a categorical over Gaussians, its negative log likelihood through logsumexp).
torch.manual_seed(0)


def make_moons(n, noise=0.08):
    t = torch.rand(n) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)
    which = (torch.rand(n) < 0.5).unsqueeze(1)
    points = torch.where(which, upper, lower)
    return points + noise * torch.randn(n, 2)


class Coupling(nn.Module):
    def __init__(self, mask, hidden=32):
        super().__init__()
        self.register_buffer("mask", mask)
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, hidden), nn.LeakyReLU(),
                                 nn.Linear(hidden, 4))
        self.scale = nn.Parameter(torch.zeros(2))

    def forward(self, x):
        s, t = self.net(x * self.mask).chunk(2, dim=1)
        s = torch.tanh(s) * self.scale.exp() * (1 - self.mask)
        t = t * (1 - self.mask)
        y = x * self.mask + (1 - self.mask) * (x * s.exp() + t)
        return y, s.sum(dim=1)

    def inverse(self, y):
        s, t = self.net(y * self.mask).chunk(2, dim=1)
        s = torch.tanh(s) * self.scale.exp() * (1 - self.mask)
        t = t * (1 - self.mask)
        return y * self.mask + (1 - self.mask) * ((y - t) * torch.exp(-s))


class RealNVP(nn.Module):
    def __init__(self, layers=4):
        super().__init__()
        masks = [torch.tensor([1.0, 0.0]) if i % 2 == 0 else torch.tensor([0.0, 1.0]) for i in range(layers)]
        self.couplings = nn.ModuleList(Coupling(m) for m in masks)
        self.prior = MultivariateNormal(torch.zeros(2), torch.eye(2))

    def forward(self, x):
        log_det = torch.zeros(x.shape[0])
        for coupling in self.couplings:
            x, ld = coupling(x)
            log_det = log_det + ld
        return x, log_det

    def log_prob(self, x):
        z, log_det = self(x)
        return self.prior.log_prob(z) + log_det

    @torch.no_grad()
    def sample(self, n):
        z = self.prior.sample((n,))
        for coupling in reversed(self.couplings):
            z = coupling.inverse(z)
        return z


data = make_moons(512)
flow = RealNVP()
optimizer = torch.optim.Adam(flow.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.995)
for step in range(1, 201):
    batch = data[torch.randint(0, len(data), (128,))]
    loss = -flow.log_prob(batch).mean()
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(flow.parameters(), max_norm=5.0)
    optimizer.step()
    scheduler.step()
    if step % 100 == 0:
        print(f"step {step}: nll {loss.item():.4f}, lr {scheduler.get_last_lr()[0]:.6f}")

samples = flow.sample(1000)
print("sample mean", samples.mean(0), "std", samples.std(0))
z, log_det = flow(data[:4])
print(z, log_det)
reconstructed = data[:4]
for coupling in flow.couplings:
    reconstructed, _ = coupling(reconstructed)
for coupling in reversed(flow.couplings):
    reconstructed = coupling.inverse(reconstructed)
print(torch.allclose(reconstructed, data[:4], atol=1e-5), (reconstructed - data[:4]).abs().max() < 1e-4)


class MDN(nn.Module):
    def __init__(self, components=3, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(1, hidden), nn.Tanh())
        self.logits = nn.Linear(hidden, components)
        self.means = nn.Linear(hidden, components)
        self.log_stds = nn.Linear(hidden, components)

    def forward(self, x):
        h = self.body(x)
        return self.logits(h), self.means(h), self.log_stds(h).clamp(-5, 3)

    def nll(self, x, y):
        logits, means, log_stds = self(x)
        log_mix = torch.log_softmax(logits, dim=-1)
        log_norm = Normal(means, log_stds.exp()).log_prob(y)
        return -torch.logsumexp(log_mix + log_norm, dim=-1).mean()


x = torch.linspace(-1, 1, 256).unsqueeze(1)
y = torch.where(torch.rand(256, 1) < 0.5, torch.sin(3 * x), -torch.sin(3 * x)) + 0.05 * torch.randn(256, 1)
mdn = MDN()
optimizer = torch.optim.RMSprop(mdn.parameters(), lr=5e-3)
for step in range(1, 151):
    loss = mdn.nll(x, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(f"mdn step {step}: nll {loss.item():.4f}")
with torch.no_grad():
    logits, means, log_stds = mdn(torch.tensor([[0.5]]))
print(logits.softmax(-1), means, log_stds.exp())

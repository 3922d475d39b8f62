import torch
import torch.nn as nn

torch.manual_seed(5)
real = lambda n: torch.randn(n, 1) * 0.5 + 2.0
G = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
D = nn.Sequential(nn.Linear(1, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Sigmoid())
opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
bce = nn.BCELoss()
for step in range(300):
    z = torch.randn(32, 4)
    fake = G(z)
    ones, zeros = torch.ones(32, 1), torch.full((32, 1), 0.0)
    opt_d.zero_grad()
    d_loss = bce(D(real(32)), ones) + bce(D(fake.detach()), zeros)
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = bce(D(fake), ones)
    g_loss.backward()
    opt_g.step()
    if step % 100 == 99:
        print(f"{step + 1} d {d_loss.item():.4f} g {g_loss.item():.4f} mean {fake.mean().item():.3f} std {fake.std().item():.3f}")
with torch.no_grad():
    samples = G(torch.randn(1000, 4))
print(samples.mean(), samples.std(), samples.min() < samples.max())
print(torch.quantile(samples.squeeze(), torch.tensor([0.25, 0.5, 0.75])))

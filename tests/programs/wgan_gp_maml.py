import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

# Two second-order programs. A Wasserstein GAN with gradient penalty on a ring of Gaussians: the critic's
# gradient with respect to interpolated points, taken with create_graph=True and penalized, so the critic's
# update differentiates through it. Then MAML on sine regression: an inner SGD step through
# torch.autograd.grad(create_graph=True) and torch.func.functional_call, the outer loss differentiated through it.
torch.manual_seed(0)


def sample_ring(n, modes=6, radius=2.0, std=0.05):
    angles = torch.randint(0, modes, (n,)).float() * (2 * torch.pi / modes)
    centers = torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)
    return centers + std * torch.randn(n, 2)


generator = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
critic = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3, betas=(0.5, 0.9))
opt_c = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
LAMBDA, CRITIC_ITERS, BATCH = 10.0, 3, 64


def gradient_penalty(critic, real, fake):
    alpha = torch.rand(real.size(0), 1)
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    scores = critic(interpolates)
    gradients = torch.autograd.grad(outputs=scores, inputs=interpolates, grad_outputs=torch.ones_like(scores),
                                    create_graph=True, retain_graph=True, only_inputs=True)[0]
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean()


for iteration in range(1, 121):
    for _ in range(CRITIC_ITERS):
        real = sample_ring(BATCH)
        with torch.no_grad():
            fake = generator(torch.randn(BATCH, 4))
        penalty = gradient_penalty(critic, real, fake)
        critic_loss = critic(fake).mean() - critic(real).mean() + LAMBDA * penalty
        opt_c.zero_grad()
        critic_loss.backward()
        opt_c.step()
    for p in critic.parameters():
        p.requires_grad_(False)
    generator_loss = -critic(generator(torch.randn(BATCH, 4))).mean()
    opt_g.zero_grad()
    generator_loss.backward()
    opt_g.step()
    for p in critic.parameters():
        p.requires_grad_(True)
    if iteration % 40 == 0:
        print(f"iter {iteration}: critic {critic_loss.item():.4f} penalty {penalty.item():.4f} "
              f"generator {generator_loss.item():.4f}")

with torch.no_grad():
    samples = generator(torch.randn(500, 4))
print("radius", samples.norm(dim=1).mean(), "spread", samples.std(0))

# ---- MAML ----------------------------------------------------------------------------------------------------
model = nn.Sequential(nn.Linear(1, 40), nn.ReLU(), nn.Linear(40, 40), nn.ReLU(), nn.Linear(40, 1))
meta_opt = torch.optim.Adam(model.parameters(), lr=1e-3)
INNER_LR, TASKS = 0.01, 4


def sample_task():
    amplitude = torch.empty(1).uniform_(0.1, 5.0)
    phase = torch.empty(1).uniform_(0, torch.pi)
    return lambda x: amplitude * torch.sin(x + phase)


def adapt(params, x, y, steps=1):
    for _ in range(steps):
        loss = F.mse_loss(functional_call(model, params, (x,)), y)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params = {name: p - INNER_LR * g for (name, p), g in zip(params.items(), grads)}
    return params


for meta_step in range(1, 61):
    meta_opt.zero_grad()
    outer = 0.0
    for _ in range(TASKS):
        task = sample_task()
        x_support, x_query = torch.rand(10, 1) * 10 - 5, torch.rand(10, 1) * 10 - 5
        adapted = adapt(dict(model.named_parameters()), x_support, task(x_support))
        outer = outer + F.mse_loss(functional_call(model, adapted, (x_query,)), task(x_query))
    (outer / TASKS).backward()
    meta_opt.step()
    if meta_step % 20 == 0:
        print(f"meta step {meta_step}: query loss {(outer / TASKS).item():.4f}")

grad_norms = [p.grad.norm() for p in model.parameters()]
print(torch.stack(grad_norms))
task = sample_task()
x = torch.linspace(-5, 5, 8).unsqueeze(1)
before = F.mse_loss(model(x), task(x))
after = F.mse_loss(functional_call(model, adapt(dict(model.named_parameters()), x, task(x), steps=3), (x,)), task(x))
print(before, after, type(after.grad_fn).__name__)

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

# Two second-order programs. A Wasserstein GAN with gradient penalty on a ring of Gaussians: the critic's
# gradient with respect to interpolated points, taken with create_graph=True and penalized, so the critic's
# update differentiates through it. Then MAML on sine regression: an inner SGD step through
# torch.autograd.grad(create_graph=True) and torch.func.functional_call, the outer loss differentiated through it.
torch.manual_seed(0)


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


for meta_step in range(1, 4):
    meta_opt.zero_grad()
    outer = 0.0
    for _ in range(TASKS):
        task = sample_task()
        x_support, x_query = torch.rand(10, 1) * 10 - 5, torch.rand(10, 1) * 10 - 5
        adapted = adapt(dict(model.named_parameters()), x_support, task(x_support))
        outer = outer + F.mse_loss(functional_call(model, adapted, (x_query,)), task(x_query))
    (outer / TASKS).backward()
    meta_opt.step()
    print(meta_step, f"{(outer / TASKS).item():.9g}", [f"{p.grad.norm().item():.9g}" for p in model.parameters()])


import math

import torch
import torch.nn as nn

torch.manual_seed(0)


class PINN(nn.Module):
    def __init__(self, width=16, depth=3):
        super().__init__()
        layers = [nn.Linear(2, width), nn.Tanh()]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.Tanh()]
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)
        for m in self.net:
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x, t):
        return self.net(torch.cat([x, t], dim=1))


def derivatives(model, x, t):
    u = model(x, t)
    u_x, u_t = torch.autograd.grad(u, (x, t), grad_outputs=torch.ones_like(u), create_graph=True)
    u_xx = torch.autograd.grad(u_x.sum(), x, create_graph=True)[0]
    return u, u_x, u_t, u_xx


nu = 0.1
xs = torch.linspace(0, 1, 12)
ts = torch.linspace(0, 0.5, 8)
X, T = torch.meshgrid(xs, ts, indexing="ij")
grid_x = X.reshape(-1, 1).clone().requires_grad_(True)
grid_t = T.reshape(-1, 1).clone().requires_grad_(True)
rand_x = torch.rand(40, 1, requires_grad=True)
rand_t = (0.5 * torch.rand(40, 1)).requires_grad_()
col_x = torch.cat([grid_x, rand_x]).detach().requires_grad_(True)
col_t = torch.cat([grid_t, rand_t]).detach().requires_grad_(True)
print(X.shape, col_x.shape, col_x.requires_grad, col_x.is_leaf)

x0 = torch.linspace(0, 1, 20).unsqueeze(1)
u0 = torch.sin(math.pi * x0)
tb = torch.linspace(0, 0.5, 10).unsqueeze(1)
zeros_b = torch.zeros_like(tb)
ones_b = torch.ones_like(tb)


def loss_terms(model):
    _, _, u_t, u_xx = derivatives(model, col_x, col_t)
    residual = u_t - nu * u_xx
    initial = model(x0, torch.zeros_like(x0)) - u0
    boundary = torch.cat([model(zeros_b, tb), model(ones_b, tb)])
    return residual.pow(2).mean(), initial.pow(2).mean(), boundary.pow(2).mean()


model = PINN()
print(sum(p.numel() for p in model.parameters()), model.net[0])
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
for step in range(200):
    opt.zero_grad()
    r, i, b = loss_terms(model)
    loss = r + i + b
    loss.backward()
    opt.step()
    if step % 100 == 0:
        print(f"adam {step:4d} loss {loss.item():.5f} residual {r.item():.5f} initial {i.item():.5f} boundary {b.item():.5f}")

lbfgs = torch.optim.LBFGS(model.parameters(), lr=1.0, max_iter=5, history_size=5, line_search_fn="strong_wolfe")
calls = 0


def closure():
    global calls
    calls += 1
    lbfgs.zero_grad()
    loss = sum(loss_terms(model))
    loss.backward()
    return loss


for outer in range(2):
    loss = lbfgs.step(closure)
    print(f"lbfgs {outer} loss {loss.item():.5f}")
print("closure calls > 3:", calls > 3, "func_evals:", lbfgs.state[lbfgs.param_groups[0]["params"][0]]["func_evals"] == calls)

with torch.no_grad():
    xe = torch.linspace(0, 1, 5).unsqueeze(1)
    te = torch.full_like(xe, 0.5)
    exact = torch.exp(torch.tensor(-nu * math.pi ** 2 * 0.5)) * torch.sin(math.pi * xe)
    pred = model(xe, te)
torch.set_printoptions(precision=3)
print("pred ", pred.squeeze(1))
print("exact", exact.squeeze(1))
print("max abs err", (pred - exact).abs().max().item() < 0.1)
xq = torch.tensor([[0.25], [0.5]], requires_grad=True)
tq = torch.tensor([[0.1], [0.2]], requires_grad=True)
u, u_x, u_t, u_xx = derivatives(model, xq, tq)
print(u.detach().squeeze(), u_x.grad_fn is not None, u_xx.requires_grad, u_t.shape)
hx = torch.autograd.functional.hessian(lambda p: model(p[:1].view(1, 1), p[1:].view(1, 1)).sum(), torch.tensor([0.5, 0.1]))
print(hx.shape, torch.allclose(hx, hx.T, atol=1e-5))

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable
from torch.distributions import Bernoulli, Categorical, Normal, kl_divergence

torch.manual_seed(0)


class ClampedExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, limit):
        out = x.clamp(max=limit).exp()
        ctx.save_for_backward(x, out)
        ctx.limit = limit
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, out = ctx.saved_tensors
        grad_x = grad_out * out * (x <= ctx.limit) if ctx.needs_input_grad[0] else None
        return grad_x, None


class SortWithIndex(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        values, order = x.sort()
        ctx.mark_non_differentiable(order)
        ctx.save_for_backward(order)
        return values, order

    @staticmethod
    def backward(ctx, grad_values, grad_order):
        (order,) = ctx.saved_tensors
        return torch.zeros_like(grad_values).scatter(0, order, grad_values)


x = torch.tensor([-1.0, 0.5, 3.0], requires_grad=True)
y = ClampedExp.apply(x, 2.0)
y.sum().backward()
print(y.detach(), x.grad, y.grad_fn.__class__.__name__)
v, o = SortWithIndex.apply(torch.tensor([0.3, -0.2, 0.9], requires_grad=True))
print(v.requires_grad, o.requires_grad, o.dtype)
(v * torch.tensor([1.0, 2.0, 3.0])).sum().backward()


class VAE(nn.Module):
    def __init__(self, d=8, h=16, z=2):
        super().__init__()
        self.enc = nn.Linear(d, h)
        self.mu = nn.Linear(h, z)
        self.logvar = nn.Linear(h, z)
        self.dec = nn.Sequential(nn.Linear(z, h), nn.ReLU(), nn.Linear(h, d))

    def forward(self, x):
        h = torch.tanh(self.enc(x))
        q = Normal(self.mu(h), torch.exp(0.5 * self.logvar(h)))
        z = q.rsample()
        return self.dec(z), q


data = (torch.rand(64, 8) < torch.linspace(0.1, 0.9, 8)).float()
model = VAE()
seen = {}
model.enc.register_forward_hook(lambda m, inp, out: seen.__setitem__("enc", tuple(out.shape)))
model.mu.register_full_backward_hook(lambda m, gin, gout: seen.__setitem__("mu", round(gout[0].norm().item(), 4)))
opt = torch.optim.Adam(model.parameters(), lr=2e-2)
prior = Normal(torch.zeros(2), torch.ones(2))
for step in range(201):
    logits, q = model(data)
    rec = Bernoulli(logits=logits).log_prob(data).sum(1).mean()
    kl = kl_divergence(q, prior).sum(1).mean()
    loss = kl - rec
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 50 == 0:
        print(f"step {step:3d} elbo {-loss.item():.4f} rec {rec.item():.4f} kl {kl.item():.4f}")
print(seen["enc"], seen["mu"] > 0)
print(q.mean.shape, q.stddev.mean().item() < 1.5, q.entropy().shape, prior.log_prob(torch.zeros(2)))

flat = nn.utils.parameters_to_vector(model.dec.parameters())
print(flat.shape, flat.requires_grad)
nn.utils.vector_to_parameters(torch.zeros_like(flat), model.dec.parameters())
print(model.dec[2].bias, model.dec[0].weight.is_leaf)

cat = Categorical(logits=torch.tensor([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]]))
draws = cat.sample((5,))
print(draws.shape, cat.probs, cat.entropy(), cat.log_prob(torch.tensor([2, 0])))
b = Bernoulli(probs=torch.tensor([0.2, 0.7]))
print(b.mean, b.variance, b.entropy(), b.sample().shape, kl_divergence(b, Bernoulli(probs=torch.tensor([0.5, 0.5]))))
n = Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 2.0]))
print(n.log_prob(torch.tensor([0.5, -1.0])), n.cdf(torch.tensor([0.0, 1.0])), n.icdf(torch.tensor([0.5, 0.975])))
print(n.sample((3,)).shape, n.rsample().requires_grad, n.batch_shape, n.event_shape)

w = torch.randn(3, requires_grad=True)
w.register_hook(lambda g: g.clamp(-0.1, 0.1))
(w * torch.tensor([1.0, -5.0, 0.05])).sum().backward()
print(w.grad)

X = torch.randn(20, 3)
true_w = torch.tensor([0.5, -1.0, 2.0])
t = X @ true_w + 0.1 * torch.randn(20)
A = X.T @ X + 0.5 * torch.eye(3)
L = torch.linalg.cholesky(A)
mean = torch.cholesky_solve((X.T @ t).unsqueeze(1), L).squeeze(1)
print(mean, torch.linalg.solve(A, X.T @ t))
evals, evecs = torch.linalg.eigh(A)
print(evals, torch.allclose(evecs.T @ evecs, torch.eye(3), atol=1e-5), (evecs[:, 0] ** 2).sum() > 0.99)
U, S, Vh = torch.linalg.svd(X[:4], full_matrices=False)
print(S, torch.dist(U @ torch.diag(S) @ Vh, X[:4]) < 1e-5)
print(torch.linalg.slogdet(A), torch.logdet(A), torch.linalg.eigvalsh(A).sum(), A.trace())
post = torch.distributions.MultivariateNormal(mean, precision_matrix=A)
print(post.log_prob(true_w), post.entropy(), post.covariance_matrix.diagonal())
df = torch.tensor(4.0, requires_grad=True)
robust = torch.distributions.StudentT(df, X @ mean, 0.2)
nll = -robust.log_prob(t).sum()
nll.backward()
print(nll, df.grad, robust.variance[:2], robust.rsample((2,)).shape, torch.lgamma(torch.tensor([4.0, 0.5])))


def neg_log_post(w):
    return 0.5 * ((X @ w - t) ** 2).sum() + 0.25 * (w ** 2).sum()


H = torch.autograd.functional.hessian(neg_log_post, mean)
J = torch.autograd.functional.jacobian(lambda w: X[:2] @ w, mean)
print(torch.allclose(H, A), J.shape, torch.allclose(J, X[:2]))
vhp = torch.autograd.functional.vhp(neg_log_post, mean, torch.ones(3))[1]
print(vhp, F.softplus(torch.tensor([-1.0, 0.0, 1.0])))

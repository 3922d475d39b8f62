import torch
import torch.nn.functional as F

# A tour of the less common API: special functions in a fitted likelihood, numpy-style shape functions, in-place
# shape changes, NaN-aware reductions, bitwise ops and in-place activations.
torch.manual_seed(0)

# A Beta log-likelihood with lgamma, fitted by gradient ascent on its log-parameters.
data = torch.linspace(0.05, 0.95, 19) ** 2
log_a = torch.zeros(1, requires_grad=True)
log_b = torch.zeros(1, requires_grad=True)
opt = torch.optim.SGD([log_a, log_b], lr=0.05)
for step in range(60):
    a, b = log_a.exp(), log_b.exp()
    log_norm = torch.lgamma(a + b) - torch.lgamma(a) - torch.lgamma(b)
    ll = (log_norm + torch.xlogy(a - 1, data) + (b - 1) * torch.log1p(-data)).mean()
    opt.zero_grad()
    (-ll).backward()
    opt.step()
    if step % 20 == 0:
        print(step, round(ll.item(), 4), log_a.grad, torch.digamma(a + b).item())
print("fit", log_a.exp().item(), log_b.exp().item())

# Shapes: movedim, tile, rot90, ravel, fliplr, in-place reshapes.
x = torch.arange(24.0).reshape(2, 3, 4)
print(torch.movedim(x, 0, -1).shape, x.moveaxis((0, 1), (2, 0)).shape, torch.tile(x[0, 0], (2,)))
print(torch.rot90(x[0]), x[1].fliplr().ravel())
y = x.clone()
y.unsqueeze_(0).transpose_(1, 3)
print(y.shape, y.sum((0, 2, 3)))
z = x[0].clone()
z.t_()
print(z)

# Elementwise: aliases, special functions, nan handling, bitwise.
p = torch.tensor([0.1, 0.5, 0.9, float("nan")])
print(torch.logit(p, eps=1e-3), torch.nansum(p), torch.nanmean(p), torch.nan_to_num(p, nan=-1.0))
print(torch.erfc(torch.tensor([0.0, 1.0, 4.0])), torch.erfinv(torch.tensor([-0.5, 0.0, 0.99])))
print(torch.logaddexp(torch.tensor([1.0, -50.0]), torch.tensor([2.0, -49.0])), torch.sinc(torch.tensor([0.0, 0.5])))
print(torch.multiply(p, 2), torch.subtract(p, 1, alpha=2), torch.true_divide(torch.tensor([3, 4]), 2))
m = torch.tensor([0b1100, 0b1010])
print(torch.bitwise_and(m, 0b0110), m ^ 1, torch.bitwise_not(m), torch.isin(m, torch.tensor([10, 3])))
print(torch.copysign(torch.tensor([1.0, 2.0]), torch.tensor([-0.0, 3.0])), torch.signbit(torch.tensor([-0.0, 1.0])))
print(torch.fmax(p, torch.tensor(0.3)), torch.float_power(torch.tensor([2.0]), 3).dtype, torch.result_type(m, 1.5))

# In-place activations keep torch's records.
h = torch.randn(3, 4, requires_grad=True)
u = h * 2
F.leaky_relu_(u, 0.1)
v = u.clone()
v.clip_(-0.5, 0.5).sigmoid_()
print(u.grad_fn.name(), v.grad_fn.name())
(u.sum() + v.sum()).backward()
print(h.grad.shape, torch.concat([h, h]).shape, torch.concatenate((h, h), 1).shape)

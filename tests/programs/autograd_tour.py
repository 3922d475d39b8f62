import torch


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * grad_output


x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
y = Cube.apply(x).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
print(g, g.grad_fn is not None)
(h,) = torch.autograd.grad(g.sum(), x)
print(h)
w = torch.randn(3, requires_grad=True)
seen = []
w.register_hook(lambda grad: seen.append(grad.clone()) or grad * 2)
z = (w * x.detach()).sum()
z.backward()
print(seen[0], w.grad)
a = torch.tensor(2.0, requires_grad=True)
b = a * 3
b.retain_grad()
c = b ** 2
c.backward()
print(a.grad, b.grad, c.grad_fn.name(), [type(f).__name__ for f, _ in c.grad_fn.next_functions])
jac = torch.autograd.functional.jacobian(lambda t: t.sin() * t, torch.tensor([0.5, 1.0]))
print(jac)
hess = torch.autograd.functional.hessian(lambda t: (t ** 3).sum(), torch.tensor([1.0, 2.0]))
print(hess)
with torch.enable_grad():
    q = torch.ones(2, requires_grad=True)
    with torch.no_grad():
        r = q * 2
    print(r.requires_grad, torch.is_grad_enabled())
torch.set_grad_enabled(False)
print((q * 2).requires_grad)
torch.set_grad_enabled(True)
p = torch.ones(2, requires_grad=True)
out = (p * p).sum()
out.backward(retain_graph=True)
out.backward()
print(p.grad)
p.grad = None
loss = (p.exp() * torch.tensor([1.0, 2.0])).sum()
loss.backward(inputs=[p])
print(p.grad, p.is_leaf, out.is_leaf)
v = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
u = v.clone()
u[1] = 0.0
u.sum().backward()
print(v.grad, type(u.grad_fn).__name__)
print(torch.autograd.gradcheck(lambda t: (t.sin() * t).sum(), torch.randn(3, dtype=torch.float64, requires_grad=True)))

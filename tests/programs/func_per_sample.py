# torch.func in the tutorials' way: per-example gradients with vmap(grad(...)) over functional_call, an
# ensemble of models run (and trained) from their stacked state, and per-example Jacobians.
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, grad, jacrev, stack_module_state, vmap

torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc2 = nn.Linear(32, 5)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


model = Net()
data = torch.randn(16, 20)
targets = torch.randint(5, (16,))


def loss_fn(predictions, targets):
    return F.cross_entropy(predictions, targets)


# per-example gradients, one backward pass per example
def compute_grad(sample, target):
    loss = loss_fn(model(sample.unsqueeze(0)), target.unsqueeze(0))
    return torch.autograd.grad(loss, list(model.parameters()))


per_sample_grads = [compute_grad(data[i], targets[i]) for i in range(len(data))]
per_sample_grads = [torch.stack(shards) for shards in zip(*per_sample_grads)]

# the same with function transforms
params = {k: v.detach() for k, v in model.named_parameters()}
buffers = {k: v.detach() for k, v in model.named_buffers()}


def compute_loss(params, buffers, sample, target):
    predictions = functional_call(model, (params, buffers), (sample.unsqueeze(0),))
    return loss_fn(predictions, target.unsqueeze(0))


ft_compute_sample_grad = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))
ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)
for per_sample_grad, ft_per_sample_grad in zip(per_sample_grads, ft_per_sample_grads.values()):
    assert torch.allclose(per_sample_grad, ft_per_sample_grad, atol=3e-3, rtol=1e-5)
print({k: tuple(v.shape) for k, v in ft_per_sample_grads.items()})
print(ft_per_sample_grads["fc2.bias"][:3])
norms = torch.stack([g.flatten(1).norm(dim=1) for g in ft_per_sample_grads.values()]).norm(dim=0)
print("per-example gradient norms:", norms)
clipped = {k: g * (1.0 / norms.clamp(min=1.0)).view(-1, *[1] * (g.dim() - 1)) for k, g in ft_per_sample_grads.items()}
print("clipped mean fc1.weight grad sum: %.5f" % clipped["fc1.weight"].mean(0).sum().item())

# an ensemble of models from their stacked state
num_models = 4
models = [Net() for _ in range(num_models)]
minibatches = torch.randn(num_models, 8, 20)
loop_predictions = torch.stack([m(mb) for m, mb in zip(models, minibatches)])
same_minibatch = torch.stack([m(minibatches[0]) for m in models])
params, buffers = stack_module_state(models)
base_model = copy.deepcopy(models[0])


def fmodel(params, buffers, x):
    return functional_call(base_model, (params, buffers), (x,))


predictions1 = vmap(fmodel)(params, buffers, minibatches)
assert torch.allclose(predictions1, loop_predictions, atol=1e-3, rtol=1e-5)
predictions2 = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatches[0])
assert torch.allclose(predictions2, same_minibatch, atol=1e-3, rtol=1e-5)
print(predictions2.shape, predictions2[:, 0, :2])

# train the whole ensemble at once
opt = torch.optim.SGD(params.values(), lr=0.5)
for step in range(20):
    out = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, data)
    loss = F.cross_entropy(out.reshape(-1, 5), targets.repeat(num_models))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 5 == 4:
        print(step, round(loss.item(), 4))
votes = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, data).argmax(-1)
print("ensemble agreement:", (votes == votes.mode(0).values).float().mean().item())

# batched small functions and per-example Jacobians
print(vmap(torch.dot)(torch.randn(3, 4), torch.randn(3, 4)))
print(vmap(torch.outer, in_dims=(0, None))(torch.arange(6.0).view(2, 3), torch.ones(2)))


def f(x):
    return torch.sin(x) * x.sum()


print(vmap(jacrev(f))(torch.randn(2, 3)))
noise = vmap(lambda x: F.dropout(x, 0.5), randomness="different")(torch.ones(3, 4))
print(noise)
same = vmap(lambda x: x + torch.rand(2), randomness="same")(torch.zeros(3, 2))
print(same)

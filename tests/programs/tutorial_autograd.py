import torch
from torch.utils.data import Dataset, DataLoader

# The "Automatic differentiation" tutorial, then a custom Dataset fed through a DataLoader.
torch.manual_seed(0)

x = torch.ones(5)  # input tensor
y = torch.zeros(3)  # expected output
w = torch.randn(5, 3, requires_grad=True)
b = torch.randn(3, requires_grad=True)
z = torch.matmul(x, w) + b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)

print(f"Gradient function for z = {z.grad_fn}"[:42])
print(f"Gradient function for loss = {loss.grad_fn}"[:69])
print(z.grad_fn.next_functions[0][0].name(), loss.requires_grad, w.is_leaf, z.is_leaf)

loss.backward()
print(w.grad.shape, b.grad.shape, torch.allclose(w.grad, b.grad.expand(5, 3)))

z = torch.matmul(x, w) + b
print(z.requires_grad)
with torch.no_grad():
    z = torch.matmul(x, w) + b
print(z.requires_grad)

z = torch.matmul(x, w) + b
z_det = z.detach()
print(z_det.requires_grad)

# Jacobian-vector products: backward with a gradient argument, accumulating and zeroing.
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"First call\n{inp.grad}")
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nSecond call\n{inp.grad}")
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print(f"\nCall after zeroing gradients\n{inp.grad}")

# Gradients of a scalar function and what users print about them.
a = torch.tensor([2.0, 3.0], requires_grad=True)
q = 3 * a**3 - a**2
q.sum().backward()
print(a.grad, a.grad == 9 * a**2 - 2 * a)
print(q, q.grad_fn.name(), a.grad.requires_grad)
g, = torch.autograd.grad((a**2).sum(), a)
gg, = torch.autograd.grad((a * a).sum(), a, create_graph=True)
print(g, gg.detach(), gg.requires_grad)
gg.sum().backward()
print(a.grad)

try:
    torch.tensor([1.0, 2.0]).sum().backward()
except RuntimeError as e:
    print(e)
try:
    (a * 2).backward()
except RuntimeError as e:
    print(e)


class SquaresDataset(Dataset):
    def __init__(self, n, transform=None, target_transform=None):
        self.values = torch.arange(n, dtype=torch.float32)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self):
        return len(self.values)

    def __getitem__(self, idx):
        value = self.values[idx]
        label = int(value.item()) ** 2
        if self.transform:
            value = self.transform(value)
        if self.target_transform:
            label = self.target_transform(label)
        return value, label


dataset = SquaresDataset(10, transform=lambda v: v / 10, target_transform=lambda t: torch.tensor(t))
print(len(dataset), dataset[3])
loader = DataLoader(dataset, batch_size=4, shuffle=False)
for values, labels in loader:
    print(values, labels)
features, targets = next(iter(DataLoader(dataset, batch_size=3, shuffle=True)))
print(f"Feature batch shape: {features.size()}")
print(f"Labels batch shape: {targets.size()}")
print(torch.equal((features * 10).round().long() ** 2, targets))
pairs = DataLoader(list(zip(range(5), "abcde")), batch_size=2)
print(list(pairs))
print(len(DataLoader(dataset, batch_size=4, drop_last=True)))

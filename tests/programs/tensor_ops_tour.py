import torch

# Rearranging
x = torch.arange(12.0).reshape(3, 4) / 4 - 1
print(x.repeat_interleave(2, dim=0))
print(torch.repeat_interleave(x, torch.tensor([1, 0, 2]), dim=0))
print(torch.take(x, torch.tensor([[0, -1], [5, 6]])))
print(torch.take_along_dim(x, x.argsort(dim=1, descending=True), dim=1))
print(torch.diff(x, dim=1), torch.diff(x, n=2, dim=0))
for part in torch.tensor_split(x, 3, dim=1):
    print(part.shape, part)
print(torch.column_stack([torch.arange(3), torch.arange(3) * 10]))
a, b = torch.broadcast_tensors(x, torch.tensor([1.0, 2.0, 3.0, 4.0]))
print(b, torch.broadcast_shapes((3, 1), (1, 4)))
print(torch.cartesian_prod(torch.tensor([1, 2]), torch.tensor([3, 4, 5])))
print(torch.combinations(torch.tensor([1.0, 2.0, 3.0, 4.0]), r=3))
print(torch.block_diag(torch.ones(2, 2), torch.tensor([[5.0]])))
print(torch.arange(8.0).unfold(0, 3, 2))

# Running extrema
values, indices = torch.cummax(torch.tensor([1.0, 3.0, 2.0, 3.0, 5.0, 4.0]), dim=0)
print(values, indices)
print(torch.cummin(x.flip(1), dim=1))
print(torch.logcumsumexp(x, dim=1))

# Products
w = torch.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
y = torch.matrix_power(w, 3).sum() + torch.linalg.multi_dot([w, w.T, w]).trace()
y.backward()
print(y, w.grad)
print(torch.tensordot(x, x, dims=([1], [1])))
print(torch.kron(torch.eye(2), torch.tensor([[1.0, 2.0], [3.0, 4.0]])))
print(torch.addmv(torch.ones(3), x, torch.ones(4), beta=0.5), torch.vdot(x[0], x[1]))

# Writing by index
z = torch.zeros(3, 4)
z.index_put_((torch.tensor([0, 0, 2]), torch.tensor([1, 1, 3])), torch.tensor([1.0, 2.0, 3.0]), accumulate=True)
print(z)
print(z.index_copy(0, torch.tensor([2, 0]), torch.arange(8.0).reshape(2, 4)))
print(x.masked_scatter(x > 0, torch.arange(12.0) * 100))
print(torch.zeros(4, 3).fill_diagonal_(7.0, wrap=True))
src = torch.tensor([5.0, 1.0, 7.0, 2.0, 8.0, 3.0])
group = torch.tensor([0, 1, 0, 1, 2, 2])
for reduce in ("sum", "prod", "mean", "amax", "amin"):
    print(reduce, torch.zeros(3).scatter_reduce(0, group, src, reduce, include_self=False))

# Statistics
points = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
print(torch.cdist(points, points))
print(torch.cov(x), torch.corrcoef(torch.tensor([[1.0, 2.0, 4.0, 7.0], [2.0, 1.0, 0.0, 5.0]])))
print(torch.quantile(x, torch.tensor([0.25, 0.5]), dim=1))
print(torch.histc(torch.tensor([1.0, 2.0, 1.0, 4.0]), bins=4, min=0, max=4))
print(torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 3, 1]), return_counts=True))

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

# "What is torch.nn really?" on a synthetic MNIST: 28x28 images of noisy class-dependent blobs.
torch.manual_seed(0)
rng = np.random.default_rng(0)
n_train, n_valid = 256, 64
centers = rng.uniform(0.2, 0.8, size=(10, 2))


def make_images(n):
    labels = rng.integers(0, 10, size=n)
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 28), np.linspace(0, 1, 28)), -1).reshape(-1, 2)
    dist = ((grid[None] - centers[labels][:, None]) ** 2).sum(-1)
    images = np.exp(-dist * 30) + rng.normal(0, 0.1, size=(n, 784))
    return images.astype(np.float32), labels


x_train, y_train = make_images(n_train)
x_valid, y_valid = make_images(n_valid)
x_train, y_train, x_valid, y_valid = map(torch.tensor, (x_train, y_train, x_valid, y_valid))
n, c = x_train.shape
print(x_train.shape, y_train.dtype, y_train.min(), y_train.max())

# From scratch: weights with Xavier init, log_softmax and negative log likelihood by hand.
weights = torch.randn(784, 10) / math.sqrt(784)
weights.requires_grad_()
bias = torch.zeros(10, requires_grad=True)


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def model(xb):
    return log_softmax(xb @ weights + bias)


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


loss_func = nll
bs = 64
xb = x_train[0:bs]
preds = model(xb)
print(preds[0].shape, preds.shape)


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


yb = y_train[0:bs]
print(loss_func(preds, yb).dim(), accuracy(preds, yb).dtype)

lr = 0.5
epochs = 2
for epoch in range(epochs):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        end_i = start_i + bs
        xb = x_train[start_i:end_i]
        yb = y_train[start_i:end_i]
        pred = model(xb)
        loss = loss_func(pred, yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
print(loss_func(model(xb), yb), accuracy(model(xb), yb))

# Refactored with nn.Module, optim, TensorDataset and DataLoader.
loss_func = F.cross_entropy


class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, xb):
        return self.lin(xb)


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)
    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()
    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)
        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
            acc = sum(accuracy(model(xb), yb) * len(xb) for xb, yb in valid_dl) / len(x_valid)
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        print(epoch, f"{val_loss:.6f}", type(val_loss).__name__, acc)


def get_data(train_ds, valid_ds, bs):
    return DataLoader(train_ds, batch_size=bs, shuffle=True), DataLoader(valid_ds, batch_size=bs * 2)


train_ds = TensorDataset(x_train, y_train)
valid_ds = TensorDataset(x_valid, y_valid)
print(len(train_ds), train_ds[0][0].shape, train_ds[0][1])
train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
model = Mnist_Logistic()
opt = optim.SGD(model.parameters(), lr=lr)
fit(epochs, model, loss_func, opt, train_dl, valid_dl)
print(model, [p.shape for p in model.parameters()])


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def preprocess(x):
    return x.view(-1, 1, 28, 28)


cnn = nn.Sequential(
    Lambda(preprocess),
    nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.Conv2d(8, 8, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    Lambda(lambda x: x.view(x.size(0), -1)),
)
print(cnn)
opt = optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
fit(epochs, cnn, loss_func, opt, train_dl, valid_dl)
xb, yb = next(iter(valid_dl))
print(xb.shape, yb.shape, cnn(xb).shape, cnn[1].weight.grad is None, cnn[1].bias.requires_grad)
print(sum(p.numel() for p in cnn.parameters()), cnn.state_dict()["1.weight"].shape)

# The CNN as a module with functional pooling, and a wrapped loader moving batches to the device.
dev = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


class Mnist_CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1)

    def forward(self, xb):
        xb = xb.view(-1, 1, 28, 28)
        xb = F.relu(self.conv1(xb))
        xb = F.relu(self.conv2(xb))
        xb = F.avg_pool2d(xb, 7)
        return xb.view(-1, xb.size(1))


class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        for b in self.dl:
            yield (self.func(*b))


def to_device(x, y):
    return x.view(-1, 1, 28, 28).to(dev), y.to(dev)


train_dl = WrappedDataLoader(train_dl, to_device)
valid_dl = WrappedDataLoader(valid_dl, to_device)
print(dev, len(train_dl), len(valid_dl))
model = Mnist_CNN().to(dev)
opt = optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
fit(epochs, model, loss_func, opt, train_dl, valid_dl)
xb, yb = next(iter(valid_dl))
print(loss_func(model(xb), yb), xb.device, model.conv1.weight.device)
print(F.nll_loss(F.log_softmax(model(xb), dim=1), yb, reduction="sum").grad_fn.name())

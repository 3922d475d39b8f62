import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

# A small CIFAR-style convolutional classifier trained for a few steps on random images.
torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 8, kernel_size=3, stride=1, padding="same", bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = torch.flatten(x, 1)
        x = self.dropout(F.relu(self.fc1(x)))
        x = self.fc2(x)
        return x


net = Net()
print(net)
print(net.bn1.running_mean, net.bn1.running_var, net.bn1.num_batches_tracked)
print([(name, tuple(b.shape)) for name, b in net.named_buffers()])

criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
print(optimizer)

inputs = torch.randn(8, 3, 8, 8)
labels = torch.randint(0, 10, (8,))
print(inputs.shape, labels.shape, labels.dtype)

for epoch in range(2):
    running_loss = 0.0
    for i in range(10):
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        if i % 5 == 4:
            print(f"[{epoch + 1}, {i + 1:5d}] loss: {running_loss / 5:.3f}")
            running_loss = 0.0
print("Finished Training")
print(net.bn1.num_batches_tracked, net.bn2.running_mean.shape, bool((net.bn1.running_var > 0).all()))

net.eval()
with torch.no_grad():
    outputs = net(inputs)
    _, predicted = torch.max(outputs, 1)
    print(predicted.shape, predicted.dtype, outputs.shape)
    correct = (predicted == labels).sum().item()
    print(f"Accuracy of the network on the 8 test images: {type(100 * correct // 8).__name__}")
    same = torch.equal(net(inputs), outputs)
    print("eval is deterministic:", same)

# The shapes each layer produces, and the functional forms of the same layers.
x = torch.randn(2, 3, 8, 8)
print(net.conv1(x).shape, net.pool(net.conv1(x)).shape, F.max_pool2d(x, 2).shape, F.avg_pool2d(x, 2).shape)
print(F.conv2d(x, net.conv1.weight, net.conv1.bias, padding=1).shape, nn.AdaptiveAvgPool2d((1, 1))(x).shape)
print(nn.Conv2d(3, 4, 3, stride=2)(x).shape, nn.Conv2d(3, 4, (3, 1), padding=(1, 0))(x).shape)
print(net.conv1.weight.shape, net.conv2.bias, net.conv1.weight.grad.shape)
drop = nn.Dropout(p=0.5)
drop.eval()
print(torch.equal(drop(x), x), drop)

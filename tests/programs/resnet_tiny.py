import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# A tiny ResNet on synthetic 1x16x16 images: residual blocks with a strided 1x1 shortcut, kaiming init through
# model.apply, AdamW with cosine annealing, flip and random-crop augmentation, label smoothing.
torch.manual_seed(7)


def make_images(n):
    labels = torch.randint(0, 4, (n,))
    grid = torch.linspace(-1, 1, 16)
    yy, xx = torch.meshgrid(grid, grid, indexing="ij")
    patterns = torch.stack([xx, yy, xx * yy, torch.cos(math.pi * xx)])
    images = patterns[labels].unsqueeze(1) + 0.3 * torch.randn(n, 1, 16, 16)
    return images, labels


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class TinyResNet(nn.Module):
    def __init__(self, num_classes=4):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False, padding_mode="reflect"), nn.BatchNorm2d(8),
                                  nn.ReLU(inplace=True))
        self.layer1 = BasicBlock(8, 8)
        self.layer2 = BasicBlock(8, 16, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=0.2)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


def init_weights(m):
    if isinstance(m, nn.Conv2d):
        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
        nn.init.constant_(m.weight, 1)
        nn.init.constant_(m.bias, 0)
    elif isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0, 0.01)
        nn.init.zeros_(m.bias)


def augment(x):
    flip = torch.rand(x.size(0)) < 0.5
    x = torch.where(flip[:, None, None, None], torch.flip(x, dims=[3]), x)
    angle = (torch.rand(x.size(0)) - 0.5) * (math.pi / 6)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros_like(cos)], 1),
                         torch.stack([sin, cos, torch.zeros_like(cos)], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    padded = F.pad(x, (2, 2, 2, 2), mode="constant", value=0.0)
    i, j = torch.randint(0, 5, (2,)).tolist()
    return padded[:, :, i:i + 16, j:j + 16]


model = TinyResNet()
model.apply(init_weights)
print(model.layer2)
print(model.stem[0])
print(sum(p.numel() for p in model.parameters()), sum(p.numel() for p in model.parameters() if p.requires_grad))
print(f"{model.stem[0].weight.std().item():.4f}", model.layer2.shortcut[0].weight.shape)

x_train, y_train = make_images(64)
x_test, y_test = make_images(32)
decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if p.ndim <= 1 else decay).append(p)
optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                              lr=3e-3, betas=(0.9, 0.99))
epochs = 5
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=1e-4)
ema = torch.optim.swa_utils.AveragedModel(model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))
for epoch in range(epochs):
    model.train()
    perm = torch.randperm(len(x_train))
    total, seen = 0.0, 0
    for start in range(0, len(x_train), 16):
        idx = perm[start:start + 16]
        xb, yb = augment(x_train[idx]), y_train[idx]
        logits = model(xb)
        loss = F.cross_entropy(logits, yb, label_smoothing=0.1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0)
        optimizer.step()
        ema.update_parameters(model)
        total += loss.item() * yb.size(0)
        seen += yb.size(0)
    scheduler.step()
    print(f"epoch {epoch} loss {total / seen:.4f} lr {scheduler.get_last_lr()[0]:.6f}")

model.eval()
with torch.no_grad():
    logits = model(x_test)
    pred = logits.argmax(dim=1)
    acc = (pred == y_test).float().mean()
    confusion = torch.bincount(y_test * 4 + pred, minlength=16).view(4, 4)
print(f"test accuracy {acc.item():.3f}")
torch.optim.swa_utils.update_bn([(x_train[:32],), (x_train[32:],)], ema)
ema.eval()
with torch.no_grad():
    ema_acc = (ema(x_test).argmax(1) == y_test).sum().item()
print("ema", ema.n_averaged, ema_acc, ema.module.fc.bias)
print(confusion)
print(confusion.diag(), confusion.sum(0), confusion.sum(1))
print(model.layer1.bn1.running_mean[:4])
print(model.layer2.shortcut[1].running_var[:4], model.layer2.shortcut[1].num_batches_tracked)
print(model.stem[0].weight[0, 0])
print(model.fc.bias)
print(optimizer.param_groups[0]["lr"], optimizer.param_groups[1]["weight_decay"])
state = model.state_dict()
print(len(state), list(state)[:6])
print(F.softmax(logits[:2], dim=1))
print(augment(x_test[:1])[0, 0, 6, 4:10])

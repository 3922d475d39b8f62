import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(3)
device = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
print("device", device)


def make_data(n):
    x = torch.zeros(n, 1, 12, 12)
    labels = torch.randint(0, 3, (n,))
    for i, c in enumerate(labels.tolist()):
        r, col = torch.randint(0, 8, (2,)).tolist()
        if c == 0:
            x[i, 0, r:r + 4, col] = 1.0
        elif c == 1:
            x[i, 0, r, col:col + 4] = 1.0
        else:
            x[i, 0, r:r + 3, col:col + 3] = 1.0
    return x + 0.1 * torch.randn_like(x), labels


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.LeakyReLU(0.1), nn.AdaptiveAvgPool2d((2, 2)))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(64, 3))

    def forward(self, x):
        return self.classifier(self.features(x))


model = Net().to(device)
x_train, y_train = make_data(96)
x_test, y_test = make_data(48)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=30)
crit = nn.CrossEntropyLoss(label_smoothing=0.1)
accum = 2
for it in range(30):
    perm = torch.randperm(96)
    opt.zero_grad()
    for k in range(accum):
        idx = perm[k * 16:(k + 1) * 16]
        xb, yb = x_train[idx].to(device), y_train[idx].to(device)
        loss = crit(model(xb), yb) / accum
        loss.backward()
    opt.step()
    sched.step()
    if it % 10 == 9:
        print(f"it {it + 1} loss {loss.item() * accum:.4f} lr {sched.get_last_lr()[0]:.4f}")

model.eval()
with torch.no_grad():
    logits = model(x_test)
    probs = F.softmax(logits, dim=1)
    top_p, top_i = probs.topk(2, dim=1)
    pred = logits.argmax(1)
    confusion = torch.bincount(y_test * 3 + pred, minlength=9).reshape(3, 3)
print("accuracy", (pred == y_test).sum().item(), "/", len(y_test))
print(confusion)
print(top_p[:3], top_i[:3])
print(model.features[1].running_var[:4])
print(F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2), stride=1).squeeze())

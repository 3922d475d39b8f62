import io
import copy
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(1)
X = torch.randn(500, 8)
true_w = torch.linspace(-1, 1, 8)
y = (X @ true_w + 0.1 * torch.randn(500)).unsqueeze(1)
ds = TensorDataset(X, y)
train_ds, val_ds = random_split(ds, [400, 100], generator=torch.Generator().manual_seed(42))
train_dl = DataLoader(train_ds, batch_size=32, shuffle=True)
val_dl = DataLoader(val_ds, batch_size=50)

model = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
loss_fn = nn.MSELoss()
best, best_state, patience = float("inf"), None, 0
for epoch in range(12):
    model.train()
    total = 0.0
    for xb, yb in train_dl:
        pred = model(xb)
        loss = loss_fn(pred, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
    sched.step()
    model.eval()
    with torch.no_grad():
        val = sum(loss_fn(model(xb), yb) * len(xb) for xb, yb in val_dl) / len(val_ds)
    print(f"epoch {epoch:2d} train {total / len(train_ds):.4f} val {val:.4f} lr {opt.param_groups[0]['lr']:.4f}")
    if val < best:
        best, best_state, patience = val.item(), copy.deepcopy(model.state_dict()), 0
    else:
        patience += 1
        if patience >= 3:
            print("early stop at", epoch)
            break
buffer = io.BytesIO()
torch.save(best_state, buffer)
buffer.seek(0)
model.load_state_dict(torch.load(buffer))
model.eval()
print(model[1].running_mean[:4], model[1].num_batches_tracked)
with torch.inference_mode():
    sample = model(X[:3])
print(sample.squeeze(), sample.requires_grad, f"{best:.4f}")
print(list(model.state_dict().keys())[:5])

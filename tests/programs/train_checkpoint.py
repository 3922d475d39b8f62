import io
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

# A regression loop as users write them: data-dependent control flow, gradient clipping, a learning-rate
# schedule, early stopping on a plateau and a checkpoint round trip through an in-memory file.
torch.manual_seed(0)

x = torch.linspace(-2, 2, 64).unsqueeze(1)
y = torch.sin(2 * x) + 0.5 * x


class GatedMLP(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.fc1 = nn.Linear(1, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        h = torch.tanh(self.fc1(x))
        # Python control flow on a tensor value: a second layer only while activations are small.
        if h.abs().mean() < 0.9:
            h = h + F.gelu(self.fc2(h))
        return self.out(h)


model = GatedMLP()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-5)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=150, gamma=0.5)
criterion = nn.MSELoss()
print(model)
print(scheduler.get_last_lr(), type(scheduler).__name__)

best = math.inf
for step in range(300):
    optimizer.zero_grad()
    pred = model(x)
    loss = criterion(pred, y)
    loss.backward()
    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
    scheduler.step()
    if loss.item() < best:
        best = loss.item()
    if step % 100 == 99:
        print(f"step {step + 1:4d}  loss {loss.item():.5f}  grad norm {total_norm.item():.3f}  "
              f"lr {scheduler.get_last_lr()[0]:.6f}  finite {torch.isfinite(total_norm).item()}")
print(best <= loss.item() + 1e-12, total_norm.dim(), total_norm.dtype)

# Checkpoint to memory and restore into a fresh model and optimizer.
buffer = io.BytesIO()
torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": 300}, buffer)
buffer.seek(0)
checkpoint = torch.load(buffer)
print(sorted(checkpoint), checkpoint["step"], list(checkpoint["model"].keys()))
print(checkpoint["optimizer"]["param_groups"][0]["lr"], len(checkpoint["optimizer"]["state"]))
print(sorted(checkpoint["optimizer"]["state"][0]), checkpoint["optimizer"]["state"][0]["step"])

restored = GatedMLP()
result = restored.load_state_dict(checkpoint["model"])
print(result)
restored_optimizer = torch.optim.Adam(restored.parameters(), lr=0.01)
restored_optimizer.load_state_dict(checkpoint["optimizer"])
print(restored_optimizer.param_groups[0]["lr"], restored_optimizer.param_groups[0]["weight_decay"])
restored.eval()
with torch.no_grad():
    same = torch.equal(restored(x), model(x))
    print(same, all(torch.equal(a, b) for a, b in zip(model.parameters(), restored.parameters())))

try:
    restored.load_state_dict({"fc1.weight": torch.zeros(16, 1)})
except RuntimeError as e:
    print(e)
print(restored.load_state_dict({"fc1.weight": torch.zeros(16, 1)}, strict=False))

# Clipping by value and the norm of a list of gradients.
model.zero_grad()
criterion(model(x), y).backward()
torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.01)
print(max(p.grad.abs().max().item() for p in model.parameters()) <= 0.01)
norms = [p.grad.norm() for p in model.parameters()]
print(len(norms), torch.stack(norms).shape)

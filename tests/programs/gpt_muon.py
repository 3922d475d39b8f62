import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

# A small character-level GPT trained the way recent speedrun scripts train it: Muon for the 2-d weight
# matrices of the transformer blocks, AdamW for embeddings, norms and the head, a warmup-then-cosine schedule
# on both optimizers, gradient clipping, and the loss printed every 25 steps. Then a short sample is drawn.
torch.manual_seed(1337)

text = ("the quick brown fox jumps over the lazy dog. " * 6 + "pack my box with five dozen liquor jugs. " * 6)
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
block_size, vocab = 16, len(chars)
print(len(text), vocab, data[:12].tolist())


class Chunks(Dataset):
    def __len__(self):
        return len(data) - block_size - 1

    def __getitem__(self, i):
        chunk = data[i:i + block_size + 1]
        return chunk[:-1], chunk[1:]


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.RMSNorm(dim), nn.RMSNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim, bias=False)
        self.fc = nn.Linear(dim, 4 * dim, bias=False)
        self.out = nn.Linear(4 * dim, dim, bias=False)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.out(F.relu(self.fc(self.norm2(x))).square())


class GPT(nn.Module):
    def __init__(self, dim=32, heads=4, layers=2):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(block_size, dim)
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(layers)])
        self.norm = nn.RMSNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)

    def forward(self, idx, targets=None):
        x = self.tok(idx) + self.pos(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.norm(x))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, vocab), targets.view(-1))
        return logits, loss


model = GPT()
hidden = [p for n, p in model.blocks.named_parameters() if p.ndim == 2]
rest = [p for n, p in model.named_parameters() if not (n.startswith("blocks.") and p.ndim == 2)]
print(sum(p.numel() for p in hidden), sum(p.numel() for p in rest))
muon = torch.optim.Muon(hidden, lr=0.02, momentum=0.95, adjust_lr_fn="match_rms_adamw")
adamw = torch.optim.AdamW(rest, lr=3e-3, betas=(0.9, 0.95), weight_decay=0.0)
print(muon.defaults["ns_steps"], muon.defaults["nesterov"], adamw.defaults["betas"])

total_steps, warmup = 100, 10


def schedule(step):
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total_steps - warmup)))


schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, schedule) for opt in (muon, adamw)]
loader = DataLoader(Chunks(), batch_size=16, shuffle=True, drop_last=True)
step = 0
while step < total_steps:
    for xb, yb in loader:
        _, loss = model(xb, yb)
        for opt in (muon, adamw):
            opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for opt, sched in zip((muon, adamw), schedulers):
            opt.step()
            sched.step()
        step += 1
        if step % 25 == 0:
            print(f"step {step:3d} | loss {loss.item():.4f} | norm {norm.item():.3f} | lr {schedulers[0].get_last_lr()[0]:.5f}")
        if step == total_steps:
            break

print(sorted(muon.state[hidden[0]].keys()), muon.state[hidden[0]]["momentum_buffer"].shape)
model.eval()
idx = torch.tensor([[stoi["t"]]])
with torch.no_grad():
    for _ in range(30):
        logits, _ = model(idx[:, -block_size:])
        probs = F.softmax(logits[:, -1] / 0.8, dim=-1)
        idx = torch.cat([idx, torch.multinomial(probs, 1)], dim=1)
print(repr("".join(chars[i] for i in idx[0].tolist())))

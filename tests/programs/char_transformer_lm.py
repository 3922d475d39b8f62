import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# A character-level language model on nn.TransformerEncoder: pre-norm GELU layers under a causal mask, a
# sinusoidal positional encoding kept as a buffer, tied embedding and output weights, AdamW with a no-decay
# group, a warmup schedule, gradient clipping, and top-k sampling.
torch.manual_seed(42)

text = "to be or not to be, that is the question. " * 12
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
itos = {i: c for c, i in stoi.items()}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
V, T, D, H = len(chars), 16, 32, 4
print(V, data.shape, data[:10])


class SinusoidalPE(nn.Module):
    def __init__(self, d_model, max_len=128):
        super().__init__()
        pe = torch.zeros(max_len, d_model)
        pos = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe.unsqueeze(0), persistent=False)

    def forward(self, x):
        return x + self.pe[:, : x.size(1), :]


class CharLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(V, D)
        self.pos = SinusoidalPE(D)
        self.drop = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(D, H, dim_feedforward=4 * D, dropout=0.1, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.ln = nn.LayerNorm(D)
        self.head = nn.Linear(D, V, bias=False)
        self.head.weight = self.tok.weight
        nn.init.normal_(self.tok.weight, mean=0.0, std=0.02)

    def forward(self, idx):
        t = idx.size(1)
        mask = nn.Transformer.generate_square_subsequent_mask(t)
        x = self.drop(self.pos(self.tok(idx) * math.sqrt(D)))
        x = self.encoder(x, mask=mask, is_causal=True)
        return self.head(self.ln(x))


model = CharLM()
print(model.encoder.layers[0])
print(sum(p.numel() for p in model.parameters()), "parameters,", len(list(model.buffers())), "buffers,",
      len(model.state_dict()), "state entries")
mask = torch.triu(torch.full((4, 4), float("-inf")), diagonal=1)
print(mask)
print(torch.equal(mask, nn.Transformer.generate_square_subsequent_mask(4)))

decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if p.ndim < 2 or "ln" in name or "norm" in name else decay).append(p)
print(len(decay), len(no_decay))
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=3e-3, betas=(0.9, 0.95))
warmup = 5
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / warmup))


def get_batch(n):
    ix = torch.randint(len(data) - T - 1, (n,))
    x = torch.stack([data[i:i + T] for i in ix])
    y = torch.stack([data[i + 1:i + T + 1] for i in ix])
    return x, y


for step in range(40):
    model.train()
    x, y = get_batch(8)
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
    sched.step()
    if step % 10 == 0 or step == 39:
        lrs = [round(g["lr"], 6) for g in opt.param_groups]
        print(f"step {step:2d} loss {loss.item():.4f} norm {norm.item():.4f} lr {lrs}")

print(model.head.weight is model.tok.weight, model.tok.weight.grad is None)


@torch.no_grad()
def evaluate():
    model.eval()
    x, y = get_batch(16)
    logits = model(x)
    loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
    acc = (logits.argmax(-1) == y).float().mean()
    return loss.item(), acc.item()


val_loss, val_acc = evaluate()
print(f"val loss {val_loss:.4f} acc {val_acc:.3f} ppl {math.exp(val_loss):.3f}")


def generate(idx, n, temperature=1.0, top_k=None):
    for _ in range(n):
        logits = model(idx[:, -T:])[:, -1, :] / temperature
        if top_k is not None:
            v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
            logits[logits < v[:, [-1]]] = -float("Inf")
        probs = F.softmax(logits, dim=-1)
        nxt = torch.multinomial(probs, num_samples=1)
        idx = torch.cat((idx, nxt), dim=1)
    return idx


with torch.inference_mode():
    start = torch.tensor([[stoi["t"], stoi["o"]]])
    out = generate(start, 12, temperature=0.8, top_k=5)
    print(out.shape, out.is_inference(), repr("".join(itos[i] for i in out[0].tolist())))
    greedy = start
    for _ in range(8):
        greedy = torch.cat([greedy, model(greedy)[:, -1:].argmax(-1)], dim=1)
    print("".join(itos[int(i)] for i in greedy[0]))
    probs = F.softmax(model(start)[0, -1], dim=-1)
    top = probs.topk(3)
    print([itos[i] for i in top.indices.tolist()], top.values.sum() <= 1.0)
print(sched.get_last_lr(), opt.state_dict()["param_groups"][1]["weight_decay"], sched.last_epoch)

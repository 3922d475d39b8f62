import math
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
VOCAB, SEQ, D = 20, 12, 32


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, D, padding_idx=0)
        self.pos = PositionalEncoding(D)
        layer = nn.TransformerEncoderLayer(D, nhead=4, dim_feedforward=64, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.head = nn.Linear(D, 2)

    def forward(self, tokens):
        mask = tokens == 0
        h = self.encoder(self.pos(self.emb(tokens) * math.sqrt(D)), src_key_padding_mask=mask)
        h = h.masked_fill(mask.unsqueeze(-1), 0.0).sum(1) / (~mask).sum(1, keepdim=True)
        return self.head(h)


def batch(n):
    tokens = torch.randint(1, VOCAB, (n, SEQ))
    lengths = torch.randint(4, SEQ + 1, (n,))
    tokens[torch.arange(SEQ).expand(n, SEQ) >= lengths.unsqueeze(1)] = 0
    labels = (tokens == 3).any(dim=1).long()
    return tokens, labels


model = Classifier()
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=60)
print(sum(p.numel() for p in model.parameters()), "parameters")
for step in range(60):
    model.train()
    tokens, labels = batch(16)
    logits = model(tokens)
    loss = F.cross_entropy(logits, labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    if step % 20 == 0:
        print(f"step {step:3d} loss {loss.item():.4f} grad norm {norm:.3f} lr {sched.get_last_lr()[0]:.5f}")
model.eval()
with torch.no_grad():
    tokens, labels = batch(64)
    pred = model(tokens).argmax(dim=-1)
    acc = (pred == labels).float().mean()
print(f"accuracy {acc.item():.3f}", pred[:8], labels[:8])
print(model.head.weight.shape, model.head.bias)

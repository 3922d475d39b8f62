import io
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

# A seq2seq model that learns to reverse short digit sequences: GRU encoder, LSTM decoder, teacher forcing.
torch.manual_seed(0)
random.seed(0)
SOS, EOS, VOCAB, MAXLEN = 10, 11, 12, 4


def make_pair():
    seq = [random.randint(0, 9) for _ in range(random.randint(2, MAXLEN - 1))]
    return seq + [EOS] * (MAXLEN - len(seq)), seq[::-1] + [EOS] * (MAXLEN - len(seq))


pairs = [make_pair() for _ in range(64)]
src = torch.tensor([p[0] for p in pairs])
tgt = torch.tensor([p[1] for p in pairs])
print(src.shape, tgt.shape, src[0].tolist(), tgt[0].tolist())


class Encoder(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        embedded = self.dropout(self.embedding(x))
        output, hidden = self.gru(embedded)
        return output, hidden


class Decoder(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward_step(self, token, state):
        output = F.relu(self.embedding(token))
        output, state = self.lstm(output, state)
        return self.out(output), state

    def forward(self, encoder_hidden, target=None, teacher_forcing_ratio=0.5):
        batch_size = encoder_hidden.size(1)
        token = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS)
        state = (encoder_hidden, torch.zeros_like(encoder_hidden))
        outputs = []
        use_teacher_forcing = target is not None and random.random() < teacher_forcing_ratio
        for i in range(MAXLEN):
            logits, state = self.forward_step(token, state)
            outputs.append(logits)
            if use_teacher_forcing:
                token = target[:, i].unsqueeze(1)
            else:
                _, topi = logits.topk(1)
                token = topi.squeeze(-1).detach()
        return F.log_softmax(torch.cat(outputs, dim=1), dim=-1), state


class Seq2Seq(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.encoder = Encoder(vocab, hidden)
        self.decoder = Decoder(vocab, hidden)

    def forward(self, src, tgt=None, teacher_forcing_ratio=0.5):
        _, hidden = self.encoder(src)
        return self.decoder(hidden, tgt, teacher_forcing_ratio)


model = Seq2Seq(VOCAB, 32)
print(model)
print(list(model.state_dict().keys()))
optimizer = optim.Adam(model.parameters(), lr=0.01)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=4, gamma=0.5)
criterion = nn.NLLLoss()

for epoch in range(1, 9):
    model.train()
    perm = torch.randperm(src.size(0))
    total = 0.0
    for b in range(0, src.size(0), 16):
        idx = perm[b:b + 16]
        optimizer.zero_grad()
        log_probs, _ = model(src[idx], tgt[idx])
        loss = criterion(log_probs.view(-1, VOCAB), tgt[idx].view(-1))
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        total += loss.item()
    scheduler.step()
    if epoch % 4 == 0:
        print(f"epoch {epoch:2d} loss {total / 4:.4f} lr {optimizer.param_groups[0]['lr']:.5f} "
              f"last lr {scheduler.get_last_lr()[0]} norm {type(norm).__name__} {norm.dim()}")

model.eval()
with torch.no_grad():
    log_probs, (h, c) = model(src[:4], teacher_forcing_ratio=0.0)
    pred = log_probs.argmax(-1)
print(pred.shape, h.shape, c.shape, pred.dtype, (pred == tgt[:4]).float().mean().item() >= 0)

buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
state = torch.load(buffer)
restored = Seq2Seq(VOCAB, 32)
print(restored.load_state_dict(state))
restored.eval()
with torch.no_grad():
    again, _ = restored(src[:4], teacher_forcing_ratio=0.0)
print(torch.equal(again, log_probs), torch.allclose(again, log_probs))
print({k: tuple(v.shape) for k, v in state.items() if "lstm" in k})
print(state["encoder.gru.weight_hh_l0"].dtype, type(state).__name__, len(buffer.getvalue()) > 0)

# Cosine annealing on a fresh optimizer, with its lr read back each step.
opt = optim.SGD(restored.parameters(), lr=0.1, momentum=0.9)
cosine = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.001)
lrs = []
for step in range(6):
    opt.step()
    cosine.step()
    lrs.append(round(opt.param_groups[0]["lr"], 6))
print(lrs, cosine.state_dict()["last_epoch"])
ckpt = {"epoch": 12, "model": restored.state_dict(), "optimizer": optimizer.state_dict()}
buffer = io.BytesIO()
torch.save(ckpt, buffer)
buffer.seek(0)
loaded = torch.load(buffer, weights_only=False)
optimizer.load_state_dict(loaded["optimizer"])
print(loaded["epoch"], sorted(loaded["optimizer"].keys()), loaded["optimizer"]["param_groups"][0]["lr"])
print(len(loaded["optimizer"]["state"]), loaded["optimizer"]["state"][0]["step"])

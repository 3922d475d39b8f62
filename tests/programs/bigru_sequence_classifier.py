import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

# Classifying variable-length token sequences (does token 1 occur more often than token 2?) with a bidirectional
# GRU over packed, unsorted batches, next to a ReLU RNN and a hand-unrolled GRUCell; trained with SGD under a
# StepLR schedule, evaluated with eval()/no_grad, and checkpointed through a state_dict in memory.
torch.manual_seed(3)
g = torch.Generator().manual_seed(11)


def make_batch(n, vocab=5):
    lengths = torch.randint(3, 9, (n,), generator=g)
    seqs = [torch.randint(0, vocab, (int(L),), generator=g) for L in lengths]
    labels = torch.stack([((s == 1).sum() > (s == 2).sum()).long() for s in seqs])
    return pad_sequence(seqs, batch_first=True), lengths, labels


x, lengths, y = make_batch(16)
print(x.shape, lengths.tolist(), y.tolist(), y.float().mean().item())


class BiGRUClassifier(nn.Module):
    def __init__(self, vocab=5, emb=8, hidden=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.gru = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.relu_rnn = nn.RNN(emb, hidden, nonlinearity="relu", batch_first=True)
        self.cell = nn.GRUCell(emb, hidden)
        self.fc = nn.Linear(4 * hidden, 2)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, lengths):
        e = self.embed(x)
        packed = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.gru(packed)
        out, out_lengths = pad_packed_sequence(out, batch_first=True)
        _, h_relu = self.relu_rnn(pack_padded_sequence(e, lengths.tolist(), batch_first=True, enforce_sorted=False))
        hc = torch.zeros(x.size(0), self.cell.hidden_size)
        for t in range(x.size(1)):
            step = self.cell(e[:, t], hc)
            mask = (t < lengths).unsqueeze(1)
            hc = torch.where(mask, step, hc)
        features = torch.cat([h[0], h[1], h_relu[-1], hc], dim=1)
        return self.fc(self.dropout(features)), out, out_lengths


model = BiGRUClassifier()
print(model)
logits, out, out_lengths = model(x, lengths)
print(logits.shape, out.shape, out_lengths.tolist(), out[0, int(lengths[0]):].abs().sum().item(), out.grad_fn.name())
print([(n, tuple(p.shape)) for n, p in model.named_parameters() if "reverse" in n])

optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=15, gamma=0.5)
train_batches = [make_batch(32) for _ in range(3)]
test_x, test_lengths, test_y = make_batch(64)


def evaluate(m):
    m.eval()
    with torch.no_grad():
        logits, _, _ = m(test_x, test_lengths)
        pred = logits.argmax(dim=1)
        acc = (pred == test_y).float().mean()
    m.train()
    return acc.item(), F.cross_entropy(logits, test_y).item()


print("before: acc %.4f loss %.4f" % evaluate(model))
for epoch in range(45):
    x, lengths, y = train_batches[epoch % len(train_batches)]
    logits, _, _ = model(x, lengths)
    loss = F.cross_entropy(logits, y)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    scheduler.step()
    if (epoch + 1) % 15 == 0:
        acc = (logits.argmax(1) == y).float().mean()
        print(f"epoch {epoch + 1} loss {loss.item():.4f} train acc {acc.item():.3f} lr {scheduler.get_last_lr()[0]:.4f}")

acc, test_loss = evaluate(model)
print(f"test acc {acc:.4f} test loss {test_loss:.4f} training {model.training}")

buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
restored = BiGRUClassifier()
print(restored.load_state_dict(torch.load(buffer)))
print("restored: acc %.4f loss %.4f" % evaluate(restored))
print(torch.equal(restored.gru.weight_hh_l0_reverse, model.gru.weight_hh_l0_reverse), list(model.state_dict())[:5])

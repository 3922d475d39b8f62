import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset

# A character-level name generator: a two-layer GRU with dropout between its layers reads a name one letter
# at a time and predicts the next; batches of names of different lengths are padded by a collate_fn, and the
# padding is left out of the loss. Then new names are sampled one letter at a time.
torch.manual_seed(42)

names = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn", "abigail",
         "emily", "ella", "elizabeth", "camila", "luna", "sofia", "avery", "mila", "aria", "scarlett",
         "liam", "noah", "oliver", "elijah", "james", "william", "benjamin", "lucas", "henry", "theodore"]
chars = sorted(set("".join(names)))
PAD, BOS, EOS = 0, 1, 2
stoi = {c: i + 3 for i, c in enumerate(chars)}
itos = {i: c for c, i in stoi.items()}
vocab_size = len(stoi) + 3
print(vocab_size, len(names), "".join(chars))


class NameDataset(Dataset):
    def __init__(self, words):
        self.words = words

    def __len__(self):
        return len(self.words)

    def __getitem__(self, idx):
        ids = [BOS] + [stoi[c] for c in self.words[idx]] + [EOS]
        return torch.tensor(ids[:-1]), torch.tensor(ids[1:])


def collate(batch):
    xs, ys = zip(*batch)
    lengths = torch.tensor([len(x) for x in xs])
    return pad_sequence(xs, batch_first=True, padding_value=PAD), pad_sequence(ys, batch_first=True, padding_value=-100), lengths


dataset = NameDataset(names)
x0, y0 = dataset[0]
print(x0, y0, x0.dtype)
loader = DataLoader(dataset, batch_size=8, shuffle=True, collate_fn=collate, drop_last=False)
xb, yb, lb = next(iter(loader))
print(xb.shape, yb.shape, lb.tolist(), (yb == -100).sum().item())


class CharGRU(nn.Module):
    def __init__(self, vocab, emb=16, hidden=32, layers=2, dropout=0.2):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb, padding_idx=PAD)
        self.gru = nn.GRU(emb, hidden, num_layers=layers, dropout=dropout, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, h=None):
        out, h = self.gru(self.emb(x), h)
        return self.head(out), h


model = CharGRU(vocab_size)
print(model)
print(sum(p.numel() for p in model.parameters()), [n for n, _ in model.gru.named_parameters()][:4])
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

step = 0
for epoch in range(20):
    model.train()
    for xb, yb, lb in loader:
        logits, _ = model(xb)
        loss = F.cross_entropy(logits.reshape(-1, vocab_size), yb.reshape(-1), ignore_index=-100)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        step += 1
        if step % 20 == 0:
            print(f"step {step:4d} | loss {loss.item():.4f} | grad norm {norm.item():.3f}")

model.eval()
with torch.no_grad():
    x = torch.stack([x for x, _ in [dataset[i] for i in range(4)]][:1])
    logits, h = model(x)
    print(logits.shape, h.shape, h.requires_grad)


@torch.no_grad()
def sample(max_len=12, temperature=0.8):
    x = torch.tensor([[BOS]])
    h = None
    out = []
    for _ in range(max_len):
        logits, h = model(x, h)
        probs = F.softmax(logits[:, -1, :] / temperature, dim=-1)
        ix = torch.multinomial(probs, num_samples=1)
        if ix.item() == EOS:
            break
        out.append(itos.get(ix.item(), "?"))
        x = ix
    return "".join(out)


samples = [sample() for _ in range(6)]
print(samples)
print(sum(s in names for s in samples), max(len(s) for s in samples))

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

# Classifying names of different lengths in one batch: padded, packed for a bidirectional LSTM (so each name's
# final state is taken at its own last letter), trained with NAdam under a cyclic learning rate. The weights
# start from fixed values, so every line prints the same numbers.
torch.manual_seed(0)

names = {"English": ["Smith", "Brown", "Jones"], "French": ["Petit", "Roux", "Blanc"], "Japanese": ["Sato", "Abe"]}
letters = sorted(set("".join(n for group in names.values() for n in group)))
categories = list(names)
lines = [(name, i) for i, group in enumerate(names.values()) for name in group]
sequences = [torch.tensor([letters.index(c) + 1 for c in name]) for name, _ in lines]
lengths = torch.tensor([len(s) for s in sequences])
targets = torch.tensor([i for _, i in lines])
padded = pad_sequence(sequences, batch_first=True)
print(padded.shape, lengths.tolist())
print(padded[-1])


class NameClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(letters) + 1, 6, padding_idx=0)
        self.rnn = nn.LSTM(6, 8, batch_first=True, bidirectional=True)
        self.out = nn.Linear(16, len(categories))

    def forward(self, padded, lengths):
        packed = pack_padded_sequence(self.embed(padded), lengths, batch_first=True, enforce_sorted=False)
        output, (h, c) = self.rnn(packed)
        unpacked, found = pad_packed_sequence(output, batch_first=True)
        return self.out(torch.cat([h[0], h[1]], dim=1)), unpacked, found


model = NameClassifier()
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(torch.linspace(-0.5, 0.5, p.numel()).reshape(p.shape).roll(i) * (0.7 if p.ndim > 1 else 0.2))
logits, unpacked, found = model(padded, lengths)
print(unpacked.shape, found.tolist())
print(unpacked[-1, :, 0])

optimizer = torch.optim.NAdam(model.parameters(), lr=0.01)
scheduler = torch.optim.lr_scheduler.CyclicLR(optimizer, 0.002, 0.02, step_size_up=5)
for step in range(30):
    logits, _, _ = model(padded, lengths)
    loss = F.cross_entropy(logits, targets)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    if step % 5 == 4:
        print(step, round(loss.item(), 5), round(scheduler.get_last_lr()[0], 6), round(optimizer.param_groups[0]["betas"][0], 4))

predicted = model(padded, lengths)[0].argmax(1)
print([categories[i] for i in predicted.tolist()])
print(optimizer.state_dict()["state"][0]["step"], optimizer.state_dict()["state"][0]["mu_product"])

import math
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)
text = "the quick brown fox jumps over the lazy dog and the dog sleeps while the fox runs " * 6
words = text.split()
vocab = sorted(set(words))
stoi = {w: i for i, w in enumerate(vocab)}
data = torch.tensor([stoi[w] for w in words], dtype=torch.long)


def batchify(d, bsz):
    nbatch = d.size(0) // bsz
    return d.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.2):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.decoder.weight = self.encoder.weight  # weight tying
        self.nlayers, self.nhid = nlayers, nhid
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output).view(-1, self.decoder.out_features)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


train = batchify(data, 4)
bptt = 8
model = RNNModel(len(vocab), 16, 16, 2)
criterion = nn.NLLLoss()
lr = 5.0
for epoch in range(1, 4):
    model.train()
    hidden = model.init_hidden(4)
    total = 0.0
    for i in range(0, train.size(0) - 1, bptt):
        seq_len = min(bptt, len(train) - 1 - i)
        inp, target = train[i:i + seq_len], train[i + 1:i + 1 + seq_len].reshape(-1)
        model.zero_grad()
        hidden = repackage_hidden(hidden)
        output, hidden = model(inp, hidden)
        loss = criterion(output, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total += loss.item()
    print(f"| epoch {epoch} | loss {total / (train.size(0) // bptt):5.2f} | ppl {math.exp(total / (train.size(0) // bptt)):8.2f}")
model.eval()
hidden = model.init_hidden(1)
inp = torch.tensor([[stoi["the"]]])
out_words = []
with torch.no_grad():
    for _ in range(8):
        output, hidden = model(inp, hidden)
        word_weights = output.squeeze().div(0.8).exp()
        word_idx = torch.multinomial(word_weights, 1)[0]
        inp.fill_(word_idx)
        out_words.append(vocab[word_idx])
print(" ".join(out_words))
print(model.rnn.weight_hh_l1.shape, model.decoder.weight is model.encoder.weight)

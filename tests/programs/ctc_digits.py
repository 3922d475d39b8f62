import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

# A toy speech recognizer trained with CTC: each "utterance" is a sequence of noisy feature frames in which
# every spoken digit lasts a random number of frames, and the model (a 1-d convolution, a bidirectional GRU and
# a linear layer) learns to emit the digit sequence without being told where each digit starts. Utterances and
# transcripts have different lengths, so the loss gets both length tensors; decoding is greedy.
torch.manual_seed(0)

NUM_DIGITS, FEATURES, BLANK = 5, 12, 0
prototypes = torch.randn(NUM_DIGITS + 1, FEATURES)  # row 0: silence between digits


def utterance(max_digits=4):
    n = int(torch.randint(1, max_digits + 1, ()).item())
    digits = torch.randint(1, NUM_DIGITS + 1, (n,))
    frames = []
    for d in digits.tolist():
        frames.append(prototypes[0].expand(int(torch.randint(0, 2, ()).item()), FEATURES))
        frames.append(prototypes[d].expand(int(torch.randint(2, 4, ()).item()), FEATURES))
    x = torch.cat(frames) + 0.3 * torch.randn(sum(f.shape[0] for f in frames), FEATURES)
    return x, digits


def make_set(size, max_frames=24, max_labels=4):
    xs = torch.zeros(size, max_frames, FEATURES)
    ys = torch.zeros(size, max_labels, dtype=torch.long)
    x_lens = torch.zeros(size, dtype=torch.long)
    y_lens = torch.zeros(size, dtype=torch.long)
    for i in range(size):
        x, y = utterance(max_labels)
        xs[i, :len(x)] = x[:max_frames]
        ys[i, :len(y)] = y
        x_lens[i], y_lens[i] = min(len(x), max_frames), len(y)
    return TensorDataset(xs, ys, x_lens, y_lens)


train = make_set(64)
test = make_set(8)
x0, y0, xl0, yl0 = train[0]
print(x0.shape, y0.tolist(), xl0.item(), yl0.item())
print("frames per utterance", train.tensors[2].float().mean().item(), "max", train.tensors[2].max().item())


class Recognizer(nn.Module):
    def __init__(self, hidden=24):
        super().__init__()
        self.conv = nn.Conv1d(FEATURES, hidden, kernel_size=3, padding=1)
        self.rnn = nn.GRU(hidden, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, NUM_DIGITS + 1)

    def forward(self, x):
        h = F.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
        h, _ = self.rnn(h)
        return self.out(h).log_softmax(-1)  # (N, T, C)


def greedy_decode(log_probs, lengths):
    best = log_probs.argmax(-1)
    words = []
    for row, n in zip(best.tolist(), lengths.tolist()):
        word, prev = [], BLANK
        for k in row[:n]:
            if k != prev and k != BLANK:
                word.append(k)
            prev = k
        words.append(word)
    return words


model = Recognizer()
ctc = nn.CTCLoss(blank=BLANK, zero_infinity=True)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
loader = DataLoader(train, batch_size=16, shuffle=True)
print(model)
print(ctc, sum(p.numel() for p in model.parameters()))

for epoch in range(12):
    total = 0.0
    for xb, yb, xl, yl in loader:
        log_probs = model(xb).transpose(0, 1)  # CTC wants (T, N, C)
        loss = ctc(log_probs, yb, xl, yl)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    if epoch % 3 == 2:
        print(f"epoch {epoch + 1:2d} | ctc {total / len(train):.4f} | grad_fn {loss.grad_fn.name()}")

model.eval()
with torch.no_grad():
    xs, ys, xl, yl = test.tensors
    log_probs = model(xs)
    per_example = F.ctc_loss(log_probs.transpose(0, 1), ys, xl, yl, blank=BLANK, reduction="none")
    decoded = greedy_decode(log_probs, xl)
print("per-utterance ctc", [round(v, 3) for v in per_example.tolist()])
for word, y, n in zip(decoded, ys.tolist(), yl.tolist()):
    print("target", y[:n], "decoded", word)
exact = sum(word == y[:n] for word, y, n in zip(decoded, ys.tolist(), yl.tolist()))
print(f"exact transcripts: {exact}/{len(decoded)}")

# The same loss from concatenated targets and tuple lengths gives the same value.
flat_targets = torch.cat([y[:n] for y, n in zip(ys, yl.tolist())])
same = F.ctc_loss(log_probs.transpose(0, 1), flat_targets, tuple(xl.tolist()), tuple(yl.tolist()), blank=BLANK)
print("concatenated targets", round(same.item(), 4), round(per_example.div(yl).mean().item(), 4))

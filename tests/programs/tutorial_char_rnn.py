import torch
import torch.nn as nn
import torch.nn.functional as F
import string
import random
import time
import math

# The "classifying names with a character-level RNN" tutorial on a handful of names per language.
torch.manual_seed(0)
random.seed(0)

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)
category_lines = {
    "English": ["Smith", "Brown", "Jones", "White", "Moore"],
    "French": ["Petit", "Roux", "Blanc", "Henry", "Simon"],
    "Japanese": ["Sato", "Mori", "Kato", "Ueda", "Abe"],
}
all_categories = list(category_lines)
n_categories = len(all_categories)
print(n_letters, n_categories, all_categories)


def letterToIndex(letter):
    return all_letters.find(letter)


def letterToTensor(letter):
    tensor = torch.zeros(1, n_letters)
    tensor[0][letterToIndex(letter)] = 1
    return tensor


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


print(letterToTensor("J"))
print(lineToTensor("Jones").size())
print(lineToTensor("Jones").sum(dim=2).view(-1).tolist(), lineToTensor("ab").nonzero().tolist())


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size, hidden_size)
        self.h2h = nn.Linear(hidden_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        hidden = F.tanh(self.i2h(input) + self.h2h(hidden))
        output = self.h2o(hidden)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


n_hidden = 32
rnn = RNN(n_letters, n_hidden, n_categories)
print(rnn)

input = lineToTensor("Albert")
hidden = torch.zeros(1, n_hidden)
output, next_hidden = rnn(input[0], hidden)
print(output.shape, next_hidden.shape, output.exp().sum().item() > 0.999)


def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i


print(type(categoryFromOutput(output)[1]))


def randomChoice(l):
    return l[random.randint(0, len(l) - 1)]


def randomTrainingExample():
    category = randomChoice(all_categories)
    line = randomChoice(category_lines[category])
    category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
    line_tensor = lineToTensor(line)
    return category, line, category_tensor, line_tensor


for i in range(3):
    category, line, category_tensor, line_tensor = randomTrainingExample()
    print("category =", category, "/ line =", line, category_tensor)

criterion = nn.NLLLoss()
learning_rate = 0.05


def train(category_tensor, line_tensor):
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    # Add parameters' gradients to their values, multiplied by learning rate
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()


n_iters = 200
print_every = 50
current_loss = 0
all_losses = []
start = time.time()


def timeSince(since):
    s = time.time() - since
    m = math.floor(s / 60)
    s -= m * 60
    return "%dm %ds" % (m, s)


for iter in range(1, n_iters + 1):
    category, line, category_tensor, line_tensor = randomTrainingExample()
    output, loss = train(category_tensor, line_tensor)
    current_loss += loss
    if iter % print_every == 0:
        guess, guess_i = categoryFromOutput(output)
        correct = "✓" if guess == category else "✗ (%s)" % category
        print("%d %d%% (%s) %.4f %s / %s" % (iter, iter / n_iters * 100, timeSince(start)[:3], loss, line, guess in all_categories))
        all_losses.append(current_loss / print_every)
        current_loss = 0

print(len(all_losses), all(l > 0 for l in all_losses))


def evaluate(line_tensor):
    hidden = rnn.initHidden()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    return output


def predict(input_line, n_predictions=2):
    print("\n> %s" % input_line)
    with torch.no_grad():
        output = evaluate(lineToTensor(input_line))
        topv, topi = output.topk(n_predictions, 1, True)
        print(topv.shape, topi.dtype, topv.requires_grad)
        for i in range(n_predictions):
            value = topv[0][i].item()
            category_index = topi[0][i].item()
            print("(%.2f) %s" % (value, all_categories[category_index] in category_lines))


predict("Dove")
predict("Sato")

# The same classifier with the built-in recurrent layers over a whole line at once.
gru = nn.GRU(n_letters, n_hidden)
lstm = nn.LSTM(n_letters, n_hidden, num_layers=2)
head = nn.Linear(n_hidden, n_categories)
print(gru, lstm, sep="\n")
out, h = gru(lineToTensor("Suzuki"))
print(out.shape, h.shape)
out, (h, c) = lstm(lineToTensor("Suzuki"))
print(out.shape, h.shape, c.shape)
logits = head(h[-1])
print(F.log_softmax(logits, dim=1).shape, F.nll_loss(F.log_softmax(logits, dim=1), torch.tensor([2])).dim())

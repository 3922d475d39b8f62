import torch
import torch.nn as nn
import torch.nn.functional as F

# A toy translation task (each source word maps to a target word, the order reversed) learned by an
# attention encoder-decoder: padded batches, nn.MultiheadAttention with a key padding mask, hand-written
# einsum attention, F.scaled_dot_product_attention with is_causal, label smoothing that ignores padding,
# and greedy decoding that stops at the end-of-sentence token.
torch.manual_seed(3)
PAD, BOS, EOS = 0, 1, 2
SRC_WORDS = ["ich", "du", "sie", "sehe", "habe", "einen", "hund", "katze", "haus", "rot"]
TGT_WORDS = ["i", "you", "she", "see", "have", "a", "dog", "cat", "house", "red"]
src_vocab = {w: i + 3 for i, w in enumerate(SRC_WORDS)}
tgt_itos = ["<pad>", "<bos>", "<eos>"] + TGT_WORDS
V_SRC, V_TGT, D, H, MAXLEN = len(src_vocab) + 3, len(tgt_itos), 32, 4, 8


def make_pair():
    n = int(torch.randint(2, 6, ()).item())
    src = torch.randint(3, V_SRC, (n,))
    tgt = torch.cat([torch.tensor([BOS]), src.flip(0), torch.tensor([EOS])])
    return src, tgt


def pad_batch(seqs):
    return nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=PAD)


class EinsumAttention(nn.Module):
    """Cross attention written out with einsum and masked_fill."""

    def __init__(self):
        super().__init__()
        self.q, self.kv, self.out = nn.Linear(D, D), nn.Linear(D, 2 * D), nn.Linear(D, D)

    def forward(self, x, memory, memory_pad):
        B, Tq, _ = x.shape
        q = self.q(x).view(B, Tq, H, D // H).transpose(1, 2)
        k, v = self.kv(memory).view(B, -1, 2, H, D // H).permute(2, 0, 3, 1, 4).unbind(0)
        scores = torch.einsum("bhqd,bhkd->bhqk", q, k) / (D // H) ** 0.5
        scores = scores.masked_fill(memory_pad[:, None, None, :], float("-inf"))
        attn = scores.softmax(dim=-1)
        ctx = torch.einsum("bhqk,bhkd->bhqd", attn, v).transpose(1, 2).reshape(B, Tq, D)
        return self.out(ctx), attn


class Translator(nn.Module):
    def __init__(self):
        super().__init__()
        self.src_emb = nn.Embedding(V_SRC, D, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(V_TGT, D, padding_idx=PAD)
        self.pos = nn.Parameter(torch.randn(MAXLEN, D) * 0.1)
        self.enc_attn = nn.MultiheadAttention(D, H, batch_first=True)
        self.enc_norm = nn.LayerNorm(D)
        self.self_qkv = nn.Linear(D, 3 * D)
        self.cross = EinsumAttention()
        self.norm1, self.norm2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.ff = nn.Sequential(nn.Linear(D, 2 * D), nn.ReLU(), nn.Linear(2 * D, D))
        self.out = nn.Linear(D, V_TGT)

    def encode(self, src):
        pad = src == PAD
        x = self.src_emb(src) + self.pos[: src.size(1)]
        a, w = self.enc_attn(x, x, x, key_padding_mask=pad, need_weights=True)
        return self.enc_norm(x + a), pad, w

    def decode(self, tgt_in, memory, pad):
        B, T = tgt_in.shape
        y = self.tgt_emb(tgt_in) + self.pos[:T]
        q, k, v = self.self_qkv(y).view(B, T, 3, H, D // H).permute(2, 0, 3, 1, 4)
        s = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        y = self.norm1(y + s.transpose(1, 2).contiguous().view(B, T, D))
        c, attn = self.cross(y, memory, pad)
        y = self.norm2(y + c)
        return self.out(y + self.ff(y)), attn

    def forward(self, src, tgt_in):
        memory, pad, _ = self.encode(src)
        return self.decode(tgt_in, memory, pad)[0]


model = Translator()
print(model.enc_attn)
print(model.enc_attn.in_proj_weight.shape, model.enc_attn.out_proj.bias.shape, model.enc_attn.head_dim)
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
criterion = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)

for step in range(60):
    pairs = [make_pair() for _ in range(16)]
    src = pad_batch([s for s, _ in pairs])
    tgt = pad_batch([t for _, t in pairs])
    logits = model(src, tgt[:, :-1])
    loss = criterion(logits.reshape(-1, V_TGT), tgt[:, 1:].reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 15 == 0 or step == 59:
        with torch.no_grad():
            tokens = (tgt[:, 1:] != PAD).sum()
            correct = ((logits.argmax(-1) == tgt[:, 1:]) & (tgt[:, 1:] != PAD)).sum()
        print(f"step {step:2d} loss {loss.item():.4f} token acc {correct.item() / tokens.item():.3f} "
              f"src {tuple(src.shape)} tgt {tuple(tgt.shape)}")

plain = F.cross_entropy(logits.reshape(-1, V_TGT), tgt[:, 1:].reshape(-1), ignore_index=PAD, reduction="none")
print(plain.shape, (plain == 0).sum().item(), "padded positions")

model.eval()


@torch.no_grad()
def translate(words):
    src = torch.tensor([[src_vocab[w] for w in words]])
    memory, pad, enc_w = model.encode(src)
    out = [BOS]
    while len(out) < MAXLEN:
        logits, attn = model.decode(torch.tensor([out]), memory, pad)
        nxt = logits[0, -1].argmax().item()
        if nxt == EOS:
            break
        out.append(nxt)
    return [tgt_itos[i] for i in out[1:]], enc_w, attn


for sentence in [["ich", "sehe", "hund"], ["sie", "habe", "einen", "rot", "haus"]]:
    words, enc_w, attn = translate(sentence)
    print(" ".join(sentence), "->", " ".join(words), tuple(enc_w.shape), tuple(attn.shape))
print(enc_w[0].sum(-1))

with torch.no_grad():
    src = pad_batch([torch.tensor([3, 4, 5]), torch.tensor([6, 7])])
    memory, pad, w = model.encode(src)
    print(pad)
    print(w[1, :, 2], w.shape)
    _, per_head = model.enc_attn(memory, memory, memory, key_padding_mask=pad, average_attn_weights=False)
    print(per_head.shape, torch.allclose(per_head.mean(1), model.enc_attn(memory, memory, memory,
                                                                          key_padding_mask=pad)[1]))
    q = torch.randn(2, H, 5, D // H)
    causal = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    manual = torch.softmax((q @ q.transpose(-2, -1) / (D // H) ** 0.5).masked_fill(~mask, float("-inf")), -1) @ q
    print(torch.allclose(causal, manual, atol=1e-6), causal[0, 0, 0].round(decimals=4))

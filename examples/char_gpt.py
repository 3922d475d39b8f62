"""Train a small character-level GPT on the short story in ``examples/data/`` and sample from it.

The model code is ordinary PyTorch: a DataLoader over a Dataset of text windows, token and position
embeddings, pre-norm transformer blocks with causal self-attention, AdamW with weight decay on the matrices
only, a linear warmup into a cosine decay, gradient clipping, and top-k sampling with ``torch.multinomial``.
It runs on lazygrad (``import lazygrad as torch``) and, with ``--framework torch``, on PyTorch itself.

    python examples/char_gpt.py                                  # lazygrad, numpy backend
    LAZYGRAD_BACKEND=jax python examples/char_gpt.py             # lazygrad, one XLA program per step
    python examples/char_gpt.py --framework torch                # the same script on PyTorch
    python examples/char_gpt.py --attention mha                  # nn.MultiheadAttention instead of SDPA
"""

from __future__ import annotations

import argparse
import importlib
import math
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

CORPUS = Path(__file__).resolve().parent / "data" / "lighthouse.txt"


def build(torch: ModuleType, vocab: int, args: argparse.Namespace) -> Any:
    """The GPT, its classes defined against whichever framework ``torch`` is."""
    nn, F = torch.nn, torch.nn.functional

    class CausalSelfAttention(nn.Module):
        """Every position attends to itself and the positions before it, in ``heads`` parallel heads."""

        def __init__(self) -> None:
            super().__init__()
            self.heads = args.heads
            self.qkv = nn.Linear(args.embed, 3 * args.embed)
            self.proj = nn.Linear(args.embed, args.embed)

        def forward(self, x: Any) -> Any:
            batch, length, width = x.shape
            q, k, v = self.qkv(x).split(width, dim=2)
            q, k, v = (t.view(batch, length, self.heads, width // self.heads).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.proj(y.transpose(1, 2).reshape(batch, length, width))

    class MultiheadSelfAttention(nn.Module):
        """The same attention through ``nn.MultiheadAttention`` and a boolean mask of the future."""

        def __init__(self) -> None:
            super().__init__()
            self.attention = nn.MultiheadAttention(args.embed, args.heads, batch_first=True)
            self.register_buffer("future", torch.triu(torch.ones(args.block, args.block, dtype=torch.bool), 1))

        def forward(self, x: Any) -> Any:
            length = x.shape[1]
            mask = self.future[:length, :length]
            return self.attention(x, x, x, attn_mask=mask, need_weights=False)[0]

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1 = nn.LayerNorm(args.embed)
            self.attention = CausalSelfAttention() if args.attention == "sdpa" else MultiheadSelfAttention()
            self.norm2 = nn.LayerNorm(args.embed)
            self.mlp = nn.Sequential(
                nn.Linear(args.embed, 4 * args.embed), nn.GELU(), nn.Linear(4 * args.embed, args.embed)
            )

        def forward(self, x: Any) -> Any:
            x = x + self.attention(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block_size = args.block
            self.tokens = nn.Embedding(vocab, args.embed)
            self.positions = nn.Embedding(args.block, args.embed)
            self.blocks = nn.ModuleList([Block() for _ in range(args.layers)])
            self.norm = nn.LayerNorm(args.embed)
            self.head = nn.Linear(args.embed, vocab, bias=False)
            self.apply(self._init_weights)

        @staticmethod
        def _init_weights(module: Any) -> None:
            # Small initial weights keep the first logits near uniform, so training starts at loss ln(vocab).
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

        def forward(self, idx: Any, targets: Any = None) -> tuple[Any, Any]:
            length = idx.shape[1]
            x = self.tokens(idx) + self.positions(torch.arange(length))
            for block in self.blocks:
                x = block(x)
            logits = self.head(self.norm(x))
            if targets is None:
                return logits, None
            return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

    return GPT()


def make_dataset(torch: ModuleType, ids: np.ndarray, block: int) -> Any:
    """Every window of ``block + 1`` characters: the first ``block`` are the input, the last ``block`` the target."""

    class CharDataset(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(ids) - block

        def __getitem__(self, i: int) -> tuple[Any, Any]:
            chunk = torch.tensor(ids[i : i + block + 1], dtype=torch.long)
            return chunk[:-1], chunk[1:]

    return CharDataset()


def param_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    """Decay the matrices of linear layers; leave biases, norms and embeddings alone, as GPT training does."""
    decay = [
        p for name, p in model.named_parameters() if p.dim() == 2 and "tokens" not in name and "positions" not in name
    ]
    chosen = {id(p) for p in decay}
    rest = [p for p in model.parameters() if id(p) not in chosen]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def warmup_cosine(warmup: int, total: int) -> Any:
    """The learning-rate factor: linear warmup to 1, then a cosine down to 0.1 at ``total`` steps."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return 0.1 + 0.45 * (1 + math.cos(math.pi * progress))

    return factor


def sample(torch: ModuleType, model: Any, prompt: list[int], length: int, temperature: float, top_k: int) -> list[int]:
    """Generate ``length`` ids after ``prompt`` (at least a block long, so every step sees a full context)."""
    model.eval()
    context = torch.tensor([prompt[-model.block_size :]], dtype=torch.long)
    out = []
    with torch.no_grad():
        for _ in range(length):
            logits, _ = model(context)
            logits = logits[:, -1, :] / temperature
            kth = torch.topk(logits, top_k).values[:, -1:]
            logits = logits.masked_fill(logits < kth, float("-inf"))
            next_id = torch.multinomial(torch.softmax(logits, dim=-1), num_samples=1)
            out.append(next_id.item())
            context = torch.cat([context[:, 1:], next_id], dim=1)  # a fixed-size window: one program shape
    model.train()
    return out


def train(torch: ModuleType, args: argparse.Namespace) -> float:
    """Train for ``args.steps`` steps, printing the mean loss every ``args.print_every``; returns the last mean."""
    text = CORPUS.read_text()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.int64)
    torch.manual_seed(args.seed)
    model = build(torch, len(chars), args)
    loader = torch.utils.data.DataLoader(
        make_dataset(torch, ids, args.block), batch_size=args.batch, shuffle=True, drop_last=True
    )  # whole batches only: one step shape
    optimizer = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.95))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(args.warmup, args.steps))
    print(f"{sum(p.numel() for p in model.parameters())} parameters, {len(chars)} characters, {len(text)} long")

    step, total, start, mean = 0, 0.0, time.perf_counter(), math.nan
    while step < args.steps:
        for x, y in loader:
            _, loss = model(x, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            scheduler.step()
            total += loss.item()
            step += 1
            if step % args.print_every == 0:
                mean, total = total / args.print_every, 0.0
                seconds = time.perf_counter() - start
                print(
                    f"step {step:5d}  loss {mean:.4f}  lr {scheduler.get_last_lr()[0]:.2e}  ({seconds:.1f} s)",
                    flush=True,
                )
            if step == args.steps:
                break

    if args.sample_length:
        generated = sample(torch, model, ids[: args.block].tolist(), args.sample_length, args.temperature, args.top_k)
        print("sample:", text[: args.block] + "".join(chars[i] for i in generated))
    return mean


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--framework", choices=("lazygrad", "torch"), default="lazygrad")
    parser.add_argument("--attention", choices=("sdpa", "mha"), default="sdpa")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--block", type=int, default=32, help="context length in characters")
    parser.add_argument("--embed", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--print-every", type=int, default=100)
    parser.add_argument("--sample-length", type=int, default=300)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> float:
    args = parse(argv)
    torch = importlib.import_module(args.framework)
    backend = torch.get_backend() if args.framework == "lazygrad" else "eager"
    print(f"char GPT with {args.framework} ({backend})")
    return train(torch, args)


if __name__ == "__main__":
    main()

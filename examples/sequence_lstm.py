"""Teach an LSTM (or GRU) to continue sine waves: next-step prediction, then free-running generation.

Each training sequence is a sine wave with its own frequency and phase, generated with numpy (so the data
is the same on every framework). The recurrent net reads the wave one sample at a time and predicts the
next sample; after training it is fed its own predictions to continue held-out waves, and the error of
that continuation is printed. The model code is ordinary PyTorch: it runs on lazygrad
(``import lazygrad as torch``) and, with ``--framework torch``, on PyTorch itself.

    python examples/sequence_lstm.py                             # lazygrad, numpy backend
    LAZYGRAD_BACKEND=jax python examples/sequence_lstm.py        # lazygrad, one XLA program per step
    python examples/sequence_lstm.py --framework torch           # the same script on PyTorch
    python examples/sequence_lstm.py --cell gru
"""

from __future__ import annotations

import argparse
import importlib
import math
import time
from types import ModuleType
from typing import Any

import numpy as np


def sine_waves(count: int, length: int, seed: int) -> np.ndarray:
    """(count, length, 1) float32 waves sin(f t + p), f in [0.1, 0.3] rad per sample, p uniform."""
    rng = np.random.default_rng(seed)
    frequency = rng.uniform(0.1, 0.3, size=(count, 1))
    phase = rng.uniform(0, 2 * math.pi, size=(count, 1))
    t = np.arange(length)[None, :]
    return np.sin(frequency * t + phase).astype(np.float32)[:, :, None]


def build(torch: ModuleType, cell: str, hidden: int, layers: int) -> Any:
    nn = torch.nn

    class SignalModel(nn.Module):
        """A recurrent layer stack and a linear read-out: the state summarises the wave seen so far."""

        def __init__(self) -> None:
            super().__init__()
            recurrent = nn.LSTM if cell == "lstm" else nn.GRU
            self.rnn = recurrent(1, hidden, num_layers=layers, batch_first=True)
            self.out = nn.Linear(hidden, 1)

        def forward(self, x: Any, state: Any = None) -> tuple[Any, Any]:
            y, state = self.rnn(x, state)
            return self.out(y), state

    return SignalModel()


def continue_waves(torch: ModuleType, model: Any, waves: Any, warmup: int, future: int) -> Any:
    """Read the first ``warmup`` samples, then predict ``future`` more, each from the model's own last output."""
    with torch.no_grad():
        prediction, state = model(waves[:, :warmup])
        step = prediction[:, -1:]
        outputs = []
        for _ in range(future):
            outputs.append(step)
            step, state = model(step, state)
        return torch.cat(outputs, dim=1)


def train(torch: ModuleType, args: argparse.Namespace) -> float:
    """Train for ``args.steps`` steps, printing the mean loss every ``args.print_every``; returns the last mean."""
    torch.manual_seed(args.seed)
    waves = torch.tensor(sine_waves(args.waves, args.length + 1, args.seed))
    dataset = torch.utils.data.TensorDataset(waves[:, :-1], waves[:, 1:])  # input, next-sample target
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, shuffle=True, drop_last=True)
    model = build(torch, args.cell, args.hidden, args.layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.steps)
    loss_fn = torch.nn.MSELoss()

    step, total, start, mean = 0, 0.0, time.perf_counter(), math.nan
    while step < args.steps:
        for x, y in loader:
            prediction, _ = model(x)
            loss = loss_fn(prediction, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item()
            step += 1
            if step % args.print_every == 0:
                mean, total = total / args.print_every, 0.0
                seconds = time.perf_counter() - start
                print(f"step {step:5d}  loss {mean:.6f}  ({seconds:.1f} s)", flush=True)
            if step == args.steps:
                break

    if args.future:
        model.eval()
        held_out = torch.tensor(sine_waves(args.batch, args.length + args.future, args.seed + 1))
        continued = continue_waves(torch, model, held_out, args.length, args.future)
        error = torch.nn.functional.mse_loss(continued, held_out[:, args.length :]).item()
        print(f"free-running continuation of {args.future} samples: mean squared error {error:.4f}")
    return mean


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--framework", choices=("lazygrad", "torch"), default="lazygrad")
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--waves", type=int, default=256, help="training sequences")
    parser.add_argument("--length", type=int, default=24, help="samples per training sequence")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--print-every", type=int, default=50)
    parser.add_argument("--future", type=int, default=40, help="samples to generate after training (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> float:
    args = parse(argv)
    torch = importlib.import_module(args.framework)
    backend = torch.get_backend() if args.framework == "lazygrad" else "eager"
    print(f"{args.cell.upper()} on sine waves with {args.framework} ({backend})")
    return train(torch, args)


if __name__ == "__main__":
    main()

"""Train an MLP or a small CNN on the 8x8 handwritten digits that scikit-learn ships (no download).

The model code is ordinary PyTorch: it runs on lazygrad (``import lazygrad as torch``) and, with
``--framework torch``, on PyTorch itself, so the two training curves can be compared line by line.

    pip install -e ".[examples]"
    python examples/train_digits.py --model cnn                  # lazygrad, numpy backend
    LAZYGRAD_BACKEND=jax python examples/train_digits.py         # lazygrad, one XLA program per step
    python examples/train_digits.py --framework torch            # the same script on PyTorch
"""

from __future__ import annotations

import argparse
import importlib
import time
from types import ModuleType
from typing import Any

import numpy as np


def load_digits(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Images scaled to [0, 1] as (N, 1, 8, 8) float32, labels int64; a fixed 80/20 train/test split."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    cut = int(0.8 * len(labels))
    train, test = order[:cut], order[cut:]
    return images[train], labels[train], images[test], labels[test]


def build_model(torch: ModuleType, kind: str) -> Any:
    nn = torch.nn
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                             nn.Linear(64, 10))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16 x 4 x 4
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32 x 2 x 2
        nn.Flatten(), nn.Linear(128, 10),
    )


def accuracy(torch: ModuleType, model: Any, images: np.ndarray, labels: np.ndarray) -> float:
    model.eval()
    with torch.no_grad():
        predicted = model(torch.tensor(images)).argmax(1)
        correct = (predicted == torch.tensor(labels)).float().mean().item()
    model.train()
    return correct


def train(torch: ModuleType, kind: str, epochs: int, batch: int, lr: float, seed: int) -> float:
    """Train and print one line per epoch; returns the final test accuracy."""
    x_train, y_train, x_test, y_test = load_digits(seed)
    torch.manual_seed(seed)
    model = build_model(torch, kind)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    steps = len(y_train) // batch  # whole batches only: one shape, so one compiled program
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(y_train))
        total = 0.0
        for step in range(steps):
            rows = order[step * batch:(step + 1) * batch]
            optimizer.zero_grad()
            loss = loss_fn(model(torch.tensor(x_train[rows])), torch.tensor(y_train[rows]))
            loss.backward()
            optimizer.step()
            total += loss.item()
        seconds = time.perf_counter() - start
        test = accuracy(torch, model, x_test, y_test)
        print(f"epoch {epoch:2d}  loss {total / steps:.4f}  test accuracy {test:.2%}  ({seconds:.2f} s)", flush=True)
    return test


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp")
    parser.add_argument("--framework", choices=("lazygrad", "torch"), default="lazygrad")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch = importlib.import_module(args.framework)
    backend = torch.get_backend() if args.framework == "lazygrad" else "eager"
    print(f"{args.model} on digits with {args.framework} ({backend})")
    return train(torch, args.model, args.epochs, args.batch, args.lr, args.seed)


if __name__ == "__main__":
    main()

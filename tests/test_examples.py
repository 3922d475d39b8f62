"""The digits example trains to a useful accuracy on every backend (needs the ``examples`` extra)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import train_digits

import lazygrad


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_digits_example_learns(model, capsys):
    accuracy = train_digits.train(lazygrad, model, epochs=3, batch=64, lr=1e-2, seed=0)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("epoch  1")
    assert accuracy > 0.85


"""``python -m lazygrad script.py`` runs a PyTorch script unchanged, and ``installed_as_torch`` undoes itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import lazygrad
from lazygrad.as_torch import installed_as_torch

pytestmark = pytest.mark.backend_agnostic

SCRIPT = """
    import sys
    import torch
    import torch.nn.functional as F
    from neighbour import VALUE

    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    print(torch.__name__, F is sys.modules["lazygrad.nn.functional"], sys.argv[1:], __name__, VALUE)
    print(x.grad)
"""


def test_a_torch_script_runs_on_lazygrad_with_its_arguments_and_neighbours(tmp_path):
    (tmp_path / "script.py").write_text(textwrap.dedent(SCRIPT))
    (tmp_path / "neighbour.py").write_text("VALUE = 7\n")
    done = subprocess.run([sys.executable, "-m", "lazygrad", str(tmp_path / "script.py"), "--steps", "3"],
                          capture_output=True, text=True, cwd=tmp_path.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["lazygrad True ['--steps', '3'] __main__ 7", "tensor([2., 4.])"]


def test_without_a_script_it_prints_its_usage_and_fails():
    done = subprocess.run([sys.executable, "-m", "lazygrad"], capture_output=True, text=True)
    assert done.returncode == 2 and "python -m lazygrad script.py" in done.stdout


def test_the_torch_names_are_lazygrads_inside_the_block_and_restored_after_it():
    before = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "torch"}
    with installed_as_torch():
        import torch
        import torch.optim

        assert torch is lazygrad and torch.optim is lazygrad.optim
    after = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "torch"}
    assert after == before

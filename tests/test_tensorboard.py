"""``torch.utils.tensorboard.SummaryWriter`` on the tensorboard package alone, fed lazygrad tensors."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

import lazygrad as torch

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from lazygrad.utils.tensorboard import SummaryWriter


def _events(path: Path) -> EventAccumulator:
    events = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    events.Reload()
    return events


def test_scalars_from_tensors_and_numbers_are_written(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer:
        loss = (torch.tensor([1.0, 2.0]) * 3).sum()  # pending until the writer reads it
        writer.add_scalar("loss", loss, 0)
        writer.add_scalar("loss", 4.5, 1)
        writer.add_scalar("loss", torch.tensor(2), global_step=2)
    scalars = _events(tmp_path).Scalars("loss")
    assert [(s.step, s.value) for s in scalars] == [(0, 9.0), (1, 4.5), (2, 2.0)]


def test_a_tensor_that_requires_grad_is_logged_by_value(tmp_path: Path) -> None:
    w = torch.ones(3, requires_grad=True)
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_scalar("norm", (w * 2).sum(), 0)
        writer.add_histogram("w", w, 0)
    events = _events(tmp_path)
    assert events.Scalars("norm")[0].value == 6.0
    histogram = events.Histograms("w")[0].histogram_value
    assert (histogram.min, histogram.max, histogram.num, histogram.sum) == (1.0, 1.0, 3, 3.0)


def test_add_scalars_writes_one_run_per_series(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_scalars("run", {"train": torch.tensor(1.0), "test": 2.0}, 3)
    assert _events(tmp_path / "run_train").Scalars("run")[0].value == 1.0
    assert _events(tmp_path / "run_test").Scalars("run")[0].step == 3


def test_text_is_written_for_the_text_plugin(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer:
        writer.add_text("note", "hello", 0)
    tensors = _events(tmp_path).Tensors("note/text_summary")
    assert tensors[0].tensor_proto.string_val == [b"hello"]


def test_a_non_scalar_is_refused(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path)) as writer, pytest.raises(ValueError, match="scalar should be 0D"):
        writer.add_scalar("x", torch.ones(2), 0)


def test_without_the_package_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    monkeypatch.delitem(sys.modules, "lazygrad.utils.tensorboard")
    with pytest.raises(ImportError, match="needs the 'tensorboard' package: pip install tensorboard"):
        importlib.import_module("lazygrad.utils.tensorboard")
    monkeypatch.undo()
    importlib.import_module("lazygrad.utils.tensorboard")

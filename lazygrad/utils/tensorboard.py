"""``torch.utils.tensorboard.SummaryWriter`` over the ``tensorboard`` package's own event-file writer.

torch's writer lives in torch; the ``tensorboard`` package alone (no TensorFlow, no torch) writes event files
and defines their protocol buffers, so this writer turns lazygrad tensors and numbers into those records.
Reading a tensor's value realizes it, as printing it would. Install with ``pip install lazygrad[tensorboard]``.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from ..tensor import Tensor

try:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
    from tensorboard.compat.proto.tensor_pb2 import TensorProto
    from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
except ImportError as error:
    raise ImportError("lazygrad.utils.tensorboard needs the 'tensorboard' package: pip install tensorboard "
                      "(or lazygrad[tensorboard])") from error

__all__ = ["SummaryWriter"]


def _array(value: Any) -> np.ndarray:
    """A tensor's (detached) value, a number or an array as a numpy array."""
    if isinstance(value, Tensor):
        return value.detach().numpy()
    return np.asarray(value)


def _scalar(value: Any) -> float:
    array = _array(value)
    if array.size != 1:
        raise ValueError(f"scalar should be 0D, got a value of shape {list(array.shape)}")
    return float(array.reshape(()))


def _histogram(values: np.ndarray, bins: Any) -> HistogramProto:
    values = values.astype(np.float64).reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    return HistogramProto(min=float(values.min()), max=float(values.max()), num=int(values.size),
                          sum=float(values.sum()), sum_squares=float(np.dot(values, values)),
                          bucket_limit=limits[1:].tolist(), bucket=counts.tolist())


class SummaryWriter:
    """Writes scalars, histograms and text for TensorBoard to an event file in ``log_dir``.

    As torch's: ``log_dir`` defaults to ``runs/<date>_<host><comment>``; ``add_scalars`` writes one run per
    series under ``log_dir/<main_tag>_<tag>``. Values may be lazygrad tensors, numpy arrays or numbers.
    """

    def __init__(self, log_dir: str | None = None, comment: str = "", purge_step: int | None = None,
                 max_queue: int = 10, flush_secs: int = 120, filename_suffix: str = "") -> None:
        if log_dir is None:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self._options = {"max_queue_size": max_queue, "flush_secs": flush_secs, "filename_suffix": filename_suffix}
        self._file = EventFileWriter(self.log_dir, **self._options)
        self._series: dict[str, EventFileWriter] = {}
        if purge_step is not None:  # TensorBoard drops the events at and after this step from earlier runs
            self._file.add_event(Event(step=purge_step, file_version="brain.Event:2"))

    def get_logdir(self) -> str:
        return self.log_dir

    def _emit(self, summary: Summary, step: int | None, walltime: float | None,
              writer: EventFileWriter | None = None) -> None:
        event = Event(summary=summary, wall_time=time.time() if walltime is None else walltime)
        if step is not None:
            event.step = int(step)
        (writer or self._file).add_event(event)

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None, walltime: float | None = None,
                   new_style: bool = False, double_precision: bool = False) -> None:
        self._emit(Summary(value=[Summary.Value(tag=tag, simple_value=_scalar(scalar_value))]), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: Mapping[str, Any], global_step: int | None = None,
                    walltime: float | None = None) -> None:
        """One series per key, each in its own run directory, so TensorBoard overlays them in one chart."""
        for tag, value in tag_scalar_dict.items():
            name = os.path.join(self.log_dir, f"{main_tag}_{tag}".replace("/", "_"))
            writer = self._series.get(name)
            if writer is None:
                writer = self._series[name] = EventFileWriter(name, **self._options)
            summary = Summary(value=[Summary.Value(tag=main_tag, simple_value=_scalar(value))])
            self._emit(summary, global_step, walltime, writer)

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None, bins: Any = "tensorflow",
                      walltime: float | None = None, max_bins: int | None = None) -> None:
        array = _array(values)
        if array.size == 0:
            raise ValueError("The input has no element.")
        edges = 30 if bins == "tensorflow" else bins  # numpy picks the edges; TensorBoard reads any buckets
        summary = Summary(value=[Summary.Value(tag=tag, histo=_histogram(array, edges))])
        self._emit(summary, global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
        tensor = TensorProto(dtype=7, string_val=[text_string.encode("utf-8")],  # 7: DT_STRING
                             tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
        summary = Summary(value=[Summary.Value(tag=f"{tag}/text_summary", metadata=metadata, tensor=tensor)])
        self._emit(summary, global_step, walltime)

    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """Writes nothing: torch traces the model with TorchScript, which lazygrad does not have."""
        warnings.warn("SummaryWriter.add_graph: lazygrad cannot trace a model graph for TensorBoard; nothing was "
                      "written", UserWarning, stacklevel=2)

    def flush(self) -> None:
        self._file.flush()
        for writer in self._series.values():
            writer.flush()

    def close(self) -> None:
        self._file.close()
        for writer in self._series.values():
            writer.close()
        self._series.clear()

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""``AdaptiveLogSoftmaxWithLoss``: a softmax over many classes as a head over frequent classes and clusters,
each cluster a small softmax of its own (Grave et al., "Efficient softmax approximation for GPUs").

torch runs each cluster on the rows whose targets fall in it, found by ``nonzero``; here every cluster runs on
every row and masks pick each row's terms, so the graph's shapes do not depend on the targets and nothing is
read on the host. The values and gradients are the same; the parameters and their names are torch's.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import Any

from .. import checks
from ..arithmetic import where
from ..tensor import Tensor, _wrap
from .containers import ModuleList, Sequential
from .layers import Linear
from .module import Module

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """The head scores the ``cutoffs[0]`` most frequent classes and one entry per cluster; cluster ``i`` projects
    the input down by ``div_value ** (i + 1)`` before scoring its classes."""

    def __init__(self, in_features: int, n_classes: int, cutoffs: Sequence[int], div_value: float = 4.0,
                 head_bias: bool = False, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted in an increasing "
                             "order, where each value is between 1 and n_classes-1")
        factory = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = [*cutoffs, n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **factory),
                                        Linear(hidden, self.cutoffs[i + 1] - self.cutoffs[i], bias=False, **factory)))

    def reset_parameters(self) -> None:
        self.head.reset_parameters()
        for to_hidden, to_classes in self.tail:
            to_hidden.reset_parameters()
            to_classes.reset_parameters()

    def forward(self, input_: Tensor, target_: Tensor) -> _ASMoutput:
        """Each row's log-probability of its target (``output``) and their negated mean (``loss``)."""
        if target_.ndim == 1:
            if input_.shape[0] != target_.shape[0]:
                raise RuntimeError("Input and target should have the same size in the batch dimension.")
            if input_.ndim != 2:
                raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with size "
                                   f"{input_.shape}")
        elif target_.ndim == 0:
            if input_.ndim != 1:
                raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with size "
                                   f"{input_.shape}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = target_.ndim > 0
        input = input_ if batched else input_.unsqueeze(0)
        target = self._checked(target_ if batched else target_.unsqueeze(0))
        cluster = sum(target >= cutoff for cutoff in self.cutoffs[:-1])  # 0: the shortlist, i: cluster i
        output = input.new_zeros(target.shape[0])
        for i, (low, to_classes) in enumerate(zip(self.cutoffs, self.tail), 1):
            inside = cluster == i
            local = to_classes(input).log_softmax(1).gather(1, where(inside, target - low, 0).unsqueeze(1))
            output = where(inside, local.squeeze(1), output)
        head_index = where(cluster == 0, target, cluster + (self.shortlist_size - 1))
        output = output + self.head(input).log_softmax(1).gather(1, head_index.unsqueeze(1)).squeeze(1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _checked(self, target: Tensor) -> Tensor:
        """``target``, whose values must be classes: checked now if they are known, else when computed."""
        high = self.n_classes - 1
        if target.node.buffer is not None:
            low_seen, high_seen = int(target.min()), int(target.max())
            if low_seen < 0 or high_seen > high:
                raise RuntimeError(f"Target values should be in [0, {high}], but values in range [{low_seen}, "
                                   f"{high_seen}] were found. ")
            return target
        node = target.node
        message = f"Target values should be in [0, {high}], but value {{}} was found. "
        return _wrap(checks.guard(node, checks.in_range(node, 0, self.n_classes), RuntimeError, message,
                                  "AdaptiveLogSoftmaxWithLoss"))

    def _get_full_log_prob(self, input: Tensor, head_output: Tensor) -> Tensor:
        """Every class's log-probability: a shortlist class's from the head, a cluster class's as its cluster's
        head entry plus its log-probability within the cluster."""
        out = input.new_empty((head_output.shape[0], self.n_classes))
        head_logprob = head_output.log_softmax(1)
        out[:, :self.shortlist_size] = head_logprob[:, :self.shortlist_size]
        for i, (start, stop) in enumerate(zip(self.cutoffs, self.cutoffs[1:])):
            cluster_logprob = self.tail[i](input).log_softmax(1)
            out[:, start:stop] = cluster_logprob + head_logprob[:, self.shortlist_size + i].unsqueeze(1)
        return out

    def log_prob(self, input: Tensor) -> Tensor:
        """Log-probabilities of all ``n_classes`` classes, (N, n_classes)."""
        return self._get_full_log_prob(input, self.head(input))

    def predict(self, input: Tensor) -> Tensor:
        """The most probable class of each row: the head's choice when it is a shortlist class (no cluster class
        can then beat it), else the best of the full distribution, as torch picks it."""
        head_output = self.head(input)
        output = head_output.argmax(1)
        return where(output >= self.shortlist_size, self._get_full_log_prob(input, head_output).argmax(1), output)

"""L-BFGS with torch's iteration, stopping rules and strong-Wolfe line search.

Unlike the other optimizers, L-BFGS decides with values: when to stop, how far to step, which history
pairs to keep. So ``step(closure)`` reads the loss and the gradients after every closure evaluation
(each is one program run), and keeps its direction arithmetic on the host in numpy, in the parameters'
precision. Only the parameter updates go back into the graph.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import numpy as np

from ..creation import tensor
from ..grad_mode import enable_grad, no_grad
from ..tensor import Tensor
from .optimizer import Optimizer


class _Probe(NamedTuple):
    """One line-search evaluation: step length, loss, flat gradient and directional derivative."""

    t: float
    f: float
    g: np.ndarray
    gtd: float


def _cubic_minimum(x1: float, f1: float, g1: float, x2: float, f2: float, g2: float,
                   bounds: tuple[float, float] | None = None) -> float:
    """Minimizer of the cubic matching values and slopes at ``x1`` and ``x2``, clamped to ``bounds``
    (default: the interval between them); their midpoint when the cubic has no minimum."""
    low, high = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    square = d1 * d1 - g1 * g2
    if square < 0:
        return (low + high) / 2.0
    d2 = math.sqrt(square)
    if x1 <= x2:
        point = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        point = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(point, low), high)


def _strong_wolfe(evaluate: Callable[[float], tuple[float, np.ndarray]], d: np.ndarray, start: _Probe,
                  t: float, c1: float = 1e-4, c2: float = 0.9, tolerance_change: float = 1e-9,
                  max_ls: int = 25) -> tuple[float, np.ndarray, float, int]:
    """A step along ``d`` satisfying the strong Wolfe conditions: first grow the step until an interval
    brackets one, then shrink the interval by cubic interpolation. Returns (loss, grad, step, evaluations)."""
    d_norm = float(np.abs(d).max())

    def probe(step: float) -> _Probe:
        f, g = evaluate(step)
        return _Probe(step, f, g, float(g @ d))

    def sufficient_decrease(p: _Probe) -> bool:
        return p.f <= start.f + c1 * p.t * start.gtd

    def curvature(p: _Probe) -> bool:
        return abs(p.gtd) <= -c2 * start.gtd

    new, previous = probe(t), _Probe(0.0, start.f, start.g, start.gtd)
    evaluations, iterations, done = 1, 0, False
    bracket: list[_Probe] = []
    while iterations < max_ls:
        if not sufficient_decrease(new) or (iterations > 1 and new.f >= previous.f):
            bracket = [previous, new]
            break
        if curvature(new):
            bracket, done = [new], True
            break
        if new.gtd >= 0:
            bracket = [previous, new]
            break
        step = _cubic_minimum(previous.t, previous.f, previous.gtd, new.t, new.f, new.gtd,
                              (new.t + 0.01 * (new.t - previous.t), new.t * 10))
        previous, new = new, probe(step)
        evaluations += 1
        iterations += 1
    if iterations == max_ls:
        bracket = [start._replace(t=0.0), new]

    low, high = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    stalled = False
    while not done and iterations < max_ls:
        if abs(bracket[1].t - bracket[0].t) * d_norm < tolerance_change:
            break
        step = _cubic_minimum(*bracket[0][:2], bracket[0].gtd, *bracket[1][:2], bracket[1].gtd)
        top, bottom = max(bracket[0].t, bracket[1].t), min(bracket[0].t, bracket[1].t)
        margin = 0.1 * (top - bottom)
        # A point too close to an end makes little progress: the second time (or when outside the
        # interval), move it a margin inside.
        if min(top - step, step - bottom) < margin:
            if stalled or step >= top or step <= bottom:
                step = top - margin if abs(step - top) < abs(step - bottom) else bottom + margin
                stalled = False
            else:
                stalled = True
        else:
            stalled = False
        new = probe(step)
        evaluations += 1
        iterations += 1
        if not sufficient_decrease(new) or new.f >= bracket[low].f:
            bracket[high] = new
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if curvature(new):
                done = True
            elif new.gtd * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = new
    best = bracket[low]
    return best.f, best.g, best.t, evaluations


class LBFGS(Optimizer):
    """Limited-memory BFGS over all parameters as one flat vector; ``step`` needs a closure that
    recomputes the loss (and its gradients) and returns it."""

    def __init__(self, params: Iterable[Any], lr: float = 1, max_iter: int = 20, max_eval: int | None = None,
                 tolerance_grad: float = 1e-7, tolerance_change: float = 1e-9, history_size: int = 100,
                 line_search_fn: str | None = None) -> None:
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval, "tolerance_grad": tolerance_grad,
                    "tolerance_change": tolerance_change, "history_size": history_size,
                    "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params: list[Tensor] = self.param_groups[0]["params"]

    def _flat_grad(self) -> np.ndarray:
        return np.concatenate([np.zeros(p.numel(), p.dtype.np) if p.grad is None else p.grad.numpy().reshape(-1)
                               for p in self._params])

    def _move(self, t: float, d: np.ndarray) -> None:
        """Parameters += t * d (lazily: the next closure evaluation computes it)."""
        step = d * t
        offset = 0
        with no_grad():
            for p in self._params:
                count = p.numel()
                p.add_(tensor(step[offset:offset + count].reshape(p.shape)))
                offset += count

    def _evaluate_along(self, evaluate: Callable[[], tuple[Any, float, np.ndarray]], origin: list[Tensor],
                        d: np.ndarray, t: float) -> tuple[float, np.ndarray]:
        """Loss and flat gradient at ``origin + t * d``; the parameters are put back at ``origin``."""
        self._move(t, d)
        _, loss, grad = evaluate()
        with no_grad():
            for p, x in zip(self._params, origin):
                p.copy_(x)
        return loss, grad

    @no_grad()
    def step(self, closure: Callable[[], Any]) -> Any:  # type: ignore[override]
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure evaluation.
        As in torch, only the closure records history: reading its loss is no conversion that drops a graph."""
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        line_search_fn, history_size = group["line_search_fn"], group["history_size"]

        def evaluate() -> tuple[Any, float, np.ndarray]:
            with enable_grad():
                loss = closure()
            return loss, float(loss), self._flat_grad()

        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss, loss, flat_grad = evaluate()
        evaluations = 1
        state["func_evals"] += 1
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        d, t = _host(state.get("d")), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag, prev_loss = state.get("H_diag"), state.get("prev_loss")
        prev_flat_grad = _host(state.get("prev_flat_grad"))
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, H_diag = [], [], [], 1.0
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep only pairs with positive curvature
                    if len(old_dirs) == history_size:
                        del old_dirs[0], old_stps[0], ro[0]
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / float(y @ y)
                d = _two_loop(flat_grad, old_dirs, old_stps, ro, H_diag)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(flat_grad @ d)
            if gtd > -tolerance_change:  # not a descent direction
                break

            spent = 0
            if line_search_fn is not None:
                if line_search_fn != "strong_wolfe":
                    raise RuntimeError("only 'strong_wolfe' is supported")
                with no_grad():
                    origin = [p.clone() for p in self._params]
                along = functools.partial(self._evaluate_along, evaluate, origin, d)
                loss, flat_grad, t, spent = _strong_wolfe(along, d, _Probe(0.0, loss, flat_grad, gtd), t,
                                                          max_ls=max_eval - evaluations)
                self._move(t, d)
                converged = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._move(t, d)
                if n_iter != max_iter:
                    _, loss, flat_grad = evaluate()
                    converged = np.abs(flat_grad).max() <= tolerance_grad
                    spent = 1
            evaluations += spent
            state["func_evals"] += spent

            if n_iter == max_iter or evaluations >= max_eval or converged:
                break
            if np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        state.update({"d": d, "t": t, "old_dirs": old_dirs, "old_stps": old_stps, "ro": ro, "H_diag": H_diag,
                      "prev_flat_grad": prev_flat_grad, "prev_loss": prev_loss})
        return orig_loss


def _host(value: Any) -> Any:
    """A state vector as a numpy array: ``load_state_dict`` turns saved arrays into tensors."""
    return value.numpy() if isinstance(value, Tensor) else value


def _two_loop(grad: np.ndarray, dirs: list[np.ndarray], steps: list[np.ndarray], ro: list[float],
              H_diag: float) -> np.ndarray:
    """The inverse-Hessian estimate (from the stored pairs) applied to ``-grad``."""
    q = -grad
    alphas = [0.0] * len(dirs)
    for i in reversed(range(len(dirs))):
        alphas[i] = float(steps[i] @ q) * ro[i]
        q = q - dirs[i] * alphas[i]
    r = q * H_diag
    for i in range(len(dirs)):
        beta = float(dirs[i] @ r) * ro[i]
        r = r + steps[i] * (alphas[i] - beta)
    return r

"""``lazygrad.autograd``: gradients beyond ``backward()``, with torch's API.

``grad`` returns gradients instead of accumulating them; ``create_graph=True`` makes those gradients
differentiable (higher derivatives, Hessian-vector products). ``Function`` lets user code supply an op's
backward. ``gradcheck`` compares analytic gradients with finite differences (``gradgradcheck`` second
derivatives). The grad-mode switches are here too (``grad_mode``), as in torch, and ``graph`` has the hooks on
saved tensors and on several tensors' gradients. ``functional`` gives Jacobians, Hessians and their products
with vectors. All of it only builds graph: a Hessian-vector product is still one backend program when its
value is read.
"""

from . import functional, grad_mode, graph
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_multithreading_enabled,
    is_view_replay_enabled,
    no_grad,
    set_grad_enabled,
    set_multithreading_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .variable import Variable

__all__ = ["Function", "FunctionCtx", "GradcheckError", "Variable", "backward", "detect_anomaly", "enable_grad",
           "functional", "grad", "grad_mode", "gradcheck", "gradgradcheck", "graph", "inference_mode",
           "is_multithreading_enabled", "is_view_replay_enabled", "no_grad", "set_detect_anomaly", "set_grad_enabled",
           "set_multithreading_enabled"]

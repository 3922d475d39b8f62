"""``lazygrad.autograd``: gradients beyond ``backward()``, with torch's API.

``grad`` returns gradients instead of accumulating them; ``create_graph=True`` makes those gradients
differentiable (higher derivatives, Hessian-vector products). ``Function`` lets user code supply an op's
backward. ``gradcheck`` compares analytic gradients with finite differences. ``functional`` gives
Jacobians, Hessians and their products with vectors. All of it only builds
graph: a Hessian-vector product is still one backend program when its value is read.
"""

from . import functional
from .anomaly_mode import detect_anomaly, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx
from .gradcheck import GradcheckError, gradcheck
from .variable import Variable

__all__ = ["Function", "FunctionCtx", "GradcheckError", "Variable", "backward", "detect_anomaly", "functional", "grad",
           "gradcheck", "set_detect_anomaly"]

"""``lazygrad.func``: function transforms (``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``vmap``).

Each transform calls the function on fresh differentiable stand-ins of its arguments and asks
``autograd.grad`` for the result. The stand-ins stay connected to the real arguments, and gradients are
built with ``create_graph`` whenever an argument carries history, so transforms compose:
``grad(grad(f))`` differentiates the recorded gradient graph again. Everything stays lazy; reading a
result runs one program.

Forward mode (``jvp``) uses the linear-transpose trick rather than a second table of JVP rules: the VJP
``u -> J^T u`` is linear in the cotangent ``u``, so differentiating ``<J^T u, t>`` with respect to ``u``
gives ``J t``. It costs one extra reverse pass but reuses every VJP rule, and the unused ``J^T u`` part is
dead code that the program passes drop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import ops
from .autograd import grad as _autograd_grad
from .creation import zeros_like
from .grad_mode import enable_grad
from .per_example import vmap as vmap  # torch.func.vmap
from .reshaping import stack
from .tensor import Tensor, _record, _wrap
from .trees import flatten, unflatten

Argnums = int | tuple[int, ...]
Regroup = Callable[[Sequence[Tensor]], tuple]


def _stand_in(x: Tensor) -> Tensor:
    """A differentiable alias of ``x``: connected to ``x``'s history if it has one, a new leaf otherwise."""
    if x.requires_grad:
        return _record("AliasBackward0", x.node, x)
    return x.detach().requires_grad_()


def _tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _grads(outputs: Sequence[Tensor], inputs: Sequence[Tensor], cotangents: Sequence[Tensor] | None,
           create_graph: bool) -> tuple[Tensor, ...]:
    """``autograd.grad`` that treats an unused input (or an output without history) as a zero gradient."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents or [None] * len(outputs)) if o.requires_grad]
    if not pairs:
        return tuple(zeros_like(x) for x in inputs)
    outs, cts = zip(*pairs)
    grads = _autograd_grad(list(outs), list(inputs), None if cotangents is None else list(cts), retain_graph=True,
                           create_graph=create_graph, allow_unused=True)
    return tuple(zeros_like(x) if g is None else g for g, x in zip(grads, inputs))


def _nested(args: Sequence[Any]) -> bool:
    """Whether a result must keep its history: some argument is differentiated by an enclosing transform."""
    return any(isinstance(a, Tensor) and a.requires_grad for a in args)


def _call(f: Callable, args: tuple, argnums: Argnums) -> tuple[Any, tuple[Tensor, ...], Regroup]:
    """``f`` on stand-ins of its ``argnums`` arguments (each a tensor, or tuples, lists and dicts of them, as a
    dict of parameters), the stand-ins in order, and the function giving one gradient per stand-in back the
    arguments' shapes: a tuple with one entry per position in ``argnums``."""
    args = list(args)
    inputs: list[Tensor] = []
    trees = []
    for i in _tuple(argnums):
        leaves: list[Any] = []
        trees.append(flatten(args[i], leaves))
        if not all(isinstance(t, Tensor) and t.dtype.is_floating_point for t in leaves):
            raise RuntimeError(f"grad: argument {i} must be a floating-point Tensor to be differentiated")
        stand_ins = [_stand_in(t) for t in leaves]
        args[i] = unflatten(trees[-1], iter(stand_ins))
        inputs += stand_ins

    def regroup(grads: Sequence[Tensor]) -> tuple:
        flat = iter(grads)
        return tuple(unflatten(tree, flat) for tree in trees)

    with enable_grad():
        return f(*args), tuple(inputs), regroup


def value_and_grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """``f``'s value and its gradient with respect to the ``argnums`` arguments (``f`` returns a scalar)."""

    def wrapper(*args: Any) -> Any:
        result, inputs, regroup = _call(f, args, argnums)
        value, aux = result if has_aux else (result, None)
        if not isinstance(value, Tensor) or value.numel() != 1:
            raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                               f"{getattr(value, 'shape', type(value).__name__)}")
        keep = _nested(args)
        grads = regroup(_grads([value], inputs, None, keep))
        g = grads if isinstance(argnums, tuple) else grads[0]
        value = value if keep else value.detach()
        return ((value, aux) if has_aux else value), g

    return wrapper


def grad(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """The gradient of scalar-valued ``f`` with respect to the ``argnums`` arguments; composable."""
    both = value_and_grad(f, argnums, has_aux)

    def wrapper(*args: Any) -> Any:
        value, g = both(*args)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(f: Callable, *primals: Tensor, has_aux: bool = False) -> tuple[Any, ...]:
    """``(f(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` gives one gradient per primal."""
    result, inputs, regroup = _call(f, primals, tuple(range(len(primals))))
    output, aux = result if has_aux else (result, None)
    keep = _nested(primals)

    def vjp_fn(*cotangents: Any) -> tuple[Any, ...]:
        cts = _tuple(cotangents[0]) if len(cotangents) == 1 else cotangents
        return regroup(_grads(list(_tuple(output)), inputs, list(cts), keep or _nested(cts)))

    shown = output if keep else _detach(output)
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def jvp(f: Callable, primals: Sequence[Tensor], tangents: Sequence[Tensor], has_aux: bool = False) -> tuple:
    """``(f(*primals), J @ tangents)`` by differentiating the (linear) VJP with respect to its cotangent."""
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise RuntimeError("jvp(f, primals, tangents): Expected primals and tangents to have the same length")
    result, inputs, _ = _call(f, primals, tuple(range(len(primals))))
    output, aux = result if has_aux else (result, None)
    outputs = _tuple(output)
    keep = _nested(primals) or _nested(tangents)
    dummies = [_wrap(ops.zeros_like(o.node)).requires_grad_() for o in outputs]
    with enable_grad():
        pulled = _grads(list(outputs), inputs, dummies, create_graph=True)
        inner = sum((p * t).sum() for p, t in zip(pulled, tangents))
    pushed = _grads([inner], dummies, None, keep) if isinstance(inner, Tensor) else tuple(
        zeros_like(o) for o in outputs)
    pushed_out = pushed if isinstance(output, tuple) else pushed[0]
    shown = output if keep else _detach(output)
    return (shown, pushed_out, aux) if has_aux else (shown, pushed_out)


def _detach(output: Any) -> Any:
    return tuple(o.detach() for o in output) if isinstance(output, tuple) else output.detach()


def _basis(x: Tensor) -> list[Tensor]:
    """One one-hot tensor of ``x``'s shape per element, in row-major order."""
    n = x.numel()
    eye = ops.cast(ops.binary("eq", ops.iota((n, n), 0), ops.iota((n, n), 1)), x.dtype)
    rows = _wrap(eye)
    return [rows[k].reshape(x.shape) for k in range(n)]


def jacrev(f: Callable, argnums: Argnums = 0) -> Callable:
    """The Jacobian of ``f`` (one tensor output), shaped ``output.shape + input.shape``, row by row (VJPs)."""

    def wrapper(*args: Any) -> Any:
        output, inputs, _ = _call(f, args, argnums)
        keep = _nested(args)
        columns = [[] for _ in inputs]
        for ct in _basis(output):
            for column, g in zip(columns, _grads([output], inputs, [ct], keep)):
                column.append(g)
        jacobians = tuple(stack(c).reshape(*output.shape, *x.shape) for c, x in zip(columns, inputs))
        return jacobians if isinstance(argnums, tuple) else jacobians[0]

    return wrapper


def jacfwd(f: Callable, argnums: Argnums = 0) -> Callable:
    """The Jacobian of ``f`` (one tensor output), shaped ``output.shape + input.shape``, column by column (JVPs)."""

    def wrapper(*args: Any) -> Any:
        positions = _tuple(argnums)
        jacobians = []
        for i in positions:
            x = args[i]

            def along(xi: Tensor, i: int = i) -> Tensor:
                return f(*args[:i], xi, *args[i + 1:])

            columns = [jvp(along, (x,), (t,))[1] for t in _basis(x)]
            out_shape = tuple(columns[0].shape)
            jac = stack(columns, dim=-1).reshape(*out_shape, *x.shape)
            jacobians.append(jac)
        return tuple(jacobians) if isinstance(argnums, tuple) else jacobians[0]

    return wrapper


def hessian(f: Callable, argnums: Argnums = 0) -> Callable:
    """The Hessian of scalar ``f``: forward over reverse, ``jacfwd(jacrev(f))``, as torch.func does."""
    return jacfwd(jacrev(f, argnums), argnums)


def grad_and_value(f: Callable, argnums: Argnums = 0, has_aux: bool = False) -> Callable:
    """torch.func's order of ``value_and_grad``'s pair: ``(gradient, value)``, or ``(gradient, (value, aux))``."""
    both = value_and_grad(f, argnums, has_aux)

    def wrapper(*args: Any) -> Any:
        value, g = both(*args)
        return g, value

    return wrapper


def functional_call(module: Any, parameter_and_buffer_dicts: Any, args: Any = None, kwargs: Any = None, *,
                    tie_weights: bool = True, strict: bool = False) -> Any:
    """Call ``module`` with some parameters and buffers (named as in ``state_dict``) replaced by the given tensors
    for this call only; gradients flow to the given tensors."""
    dicts = parameter_and_buffer_dicts
    replacements: dict[str, Any] = {}
    for d in (dicts if isinstance(dicts, (tuple, list)) else (dicts,)):
        for name, value in d.items():
            if name in replacements:
                raise ValueError(f"{name} appeared in multiple dictionaries; behavior of functional call is ambiguous")
            replacements[name] = value
    if strict:
        expected = {name for name, _ in module.named_parameters()} | {name for name, _ in module.named_buffers()}
        missing, unexpected = sorted(expected - replacements.keys()), sorted(replacements.keys() - expected)
        if missing or unexpected:
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n"
                               + (f"\tUnexpected key(s): {', '.join(map(repr, unexpected))}.\n" if unexpected else "")
                               + (f"\tMissing key(s): {', '.join(map(repr, missing))}." if missing else ""))
    saved = []
    try:
        for name, value in replacements.items():
            owner_path, _, leaf = name.rpartition(".")
            owner = module.get_submodule(owner_path) if owner_path else module
            table = owner._parameters if leaf in owner._parameters else owner._buffers
            saved.append((table, leaf, table.get(leaf), leaf in table))
            table[leaf] = value
        args = args if isinstance(args, tuple) else () if args is None else (args,)
        return module(*args, **(kwargs or {}))
    finally:
        for table, leaf, previous, present in reversed(saved):
            if present:
                table[leaf] = previous
            else:
                del table[leaf]


def stack_module_state(models: Sequence[Any]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """The parameters and buffers of ``models`` (one class, all training or all evaluating), each name's tensors
    stacked along a new first dimension: the state ``vmap(functional_call)`` runs an ensemble with. Stacked
    parameters are new leaves (requiring grad when the models' do); they no longer follow the models."""
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if len({type(m) for m in models}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    return (_stacked_by_name([dict(m.named_parameters()) for m in models]),
            _stacked_by_name([dict(m.named_buffers()) for m in models]))


def _stacked_by_name(tables: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    stacked = {}
    for name in tables[0]:
        tensors = [table[name] for table in tables]
        wanted = {t.requires_grad for t in tensors}
        if len(wanted) > 1:
            raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
        value = stack(tensors)
        stacked[name] = value.detach().requires_grad_() if wanted == {True} else value
    return stacked

"""A model's computation graph as TensorBoard's ``GraphDef``, for the Graphs tab.

strided records the graph while it computes (define-by-run): every ``Function`` keeps the
tensors it was applied to. One forward pass on an example, in eval mode, therefore gives
the whole graph: walking back from the output reaches every operation, parameter and
input. Each operation is placed in the scope of the innermost module whose forward ran
it (TensorBoard draws a scope as a box that opens), found with forward hooks: when a
module finishes, the operations between its output and its inputs that no submodule
claimed are its own.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor

__all__ = ["graph_def"]


def _tensors(obj: Any) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for item in obj for t in _tensors(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _tensors(item)]
    return []


def _functions_between(outputs: list[Tensor], inputs: set[int]) -> list[Any]:
    """The Functions on the paths from ``outputs`` back to the tensors ``inputs`` (ids)
    or to leaves, each once."""
    found, seen = [], set()
    stack = [t for t in outputs if id(t) not in inputs]
    while stack:
        fn = stack.pop()._ctx
        if fn is None or id(fn) in seen or fn.inputs is None:
            continue
        seen.add(id(fn))
        found.append(fn)
        stack.extend(t for t in fn.inputs if isinstance(t, Tensor) and id(t) not in inputs)
    return found


def _trace(model: Any, example: Tensor) -> tuple[Any, dict[int, str]]:
    """The model's output on ``example`` and the scope (module path) of each Function."""
    scopes: dict[int, str] = {}
    names = {id(m): name for name, m in model.named_modules()}

    def claim(module: Any, args: tuple, output: Any) -> None:
        # submodules finish first, so what they ran is claimed before their parent looks
        inputs = {id(t) for t in _tensors(args)}
        for fn in _functions_between(_tensors(output), inputs):
            scopes.setdefault(id(fn), names[id(module)])

    handles = [m.register_forward_hook(claim) for _, m in model.named_modules()]
    was_training = model.training
    model.eval()  # no running statistics updated, no dropout drawn
    try:
        output = model(example)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return output, scopes


def _shape_attr(tb: Any, shape: tuple) -> Any:
    dims = [tb.tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in shape]
    return tb.attr_value_pb2.AttrValue(
        list=tb.attr_value_pb2.AttrValue.ListValue(
            shape=[tb.tensor_shape_pb2.TensorShapeProto(dim=dims)]
        )
    )


def graph_def(model: Any, example: Any, tb: Any) -> Any:
    """TensorBoard's ``GraphDef`` of ``model`` applied to ``example`` (a batch, as the
    model takes it): a node per operation (its op the Function's name, in its module's
    scope, with its output shape), per parameter (named as in ``named_parameters``) and
    for the input. ``tb`` is the namespace of tensorboard's protocol buffers."""
    # requires_grad so that operations on the input alone are recorded too (a graph
    # is recorded only where a gradient could flow); nothing calls backward
    x = Tensor(getattr(example, "data", example), requires_grad=True)
    output, scopes = _trace(model, x)
    params = {id(p): name for name, p in model.named_parameters()}
    outputs = _tensors(output)
    nodes: list[Any] = []
    node_of: dict[int, str] = {}  # tensor id -> the name of the node that produced it
    taken: dict[str, int] = {}

    def fresh(name: str) -> str:
        taken[name] = taken.get(name, 0) + 1
        return name if taken[name] == 1 else f"{name}_{taken[name] - 1}"

    def leaf(t: Tensor) -> str:
        if id(t) not in node_of:
            if t is x:
                name, op = "input", "Input"
            elif id(t) in params:
                name, op = params[id(t)].replace(".", "/"), "Parameter"
            else:
                name, op = fresh("constant"), "Const"
            node_of[id(t)] = name
            nodes.append(
                tb.node_def_pb2.NodeDef(
                    name=name, op=op, attr={"_output_shapes": _shape_attr(tb, t.shape)}
                )
            )
        return node_of[id(t)]

    # every Function reachable from the outputs, in an order where inputs come first
    order: list[Any] = []
    done: set[int] = set()
    stack: list[tuple[Any, bool]] = [(t._ctx, False) for t in outputs if t._ctx is not None]
    while stack:
        fn, expanded = stack.pop()
        if id(fn) in done:
            continue
        if expanded:
            done.add(id(fn))
            order.append(fn)
            continue
        stack.append((fn, True))
        for t in fn.inputs or ():
            if isinstance(t, Tensor) and t._ctx is not None and id(t._ctx) not in done:
                stack.append((t._ctx, False))

    produced: dict[int, str] = {}  # Function id -> node name
    for fn in order:
        scope = scopes.get(id(fn), "")
        op = type(fn).__name__
        name = fresh(f"{scope.replace('.', '/')}/{op}" if scope else op)
        produced[id(fn)] = name
        inputs = []
        for t in fn.inputs or ():
            if isinstance(t, Tensor):
                inputs.append(produced[id(t._ctx)] if t._ctx is not None else leaf(t))
        out = fn.output_ref()
        attr = {"_output_shapes": _shape_attr(tb, out.shape)} if out is not None else {}
        nodes.append(tb.node_def_pb2.NodeDef(name=name, op=op, input=inputs, attr=attr))
    for t in outputs:
        source = produced[id(t._ctx)] if t._ctx is not None else leaf(t)
        nodes.append(
            tb.node_def_pb2.NodeDef(
                name=fresh("output"),
                op="Output",
                input=[source],
                attr={"_output_shapes": _shape_attr(tb, t.shape)},
            )
        )
    return tb.graph_pb2.GraphDef(node=nodes, versions=tb.versions_pb2.VersionDef(producer=22))

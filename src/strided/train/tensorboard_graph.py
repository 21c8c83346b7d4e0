"""A model's computation graph as TensorBoard's ``GraphDef``, for the Graphs tab.

The model runs once, in eval mode, on an example while ``nn.trace`` records every operation
and the module that ran it. Each operation becomes a node (its op the Function's name, its
output shape as an attribute) in the scope of that module, so TensorBoard draws modules as
boxes that open; parameters, buffers and the input become nodes of their own.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..nn.trace import trace

__all__ = ["graph_def"]


def _tensors(obj: Any) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for item in obj for t in _tensors(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _tensors(item)]
    return []


def _shape_attr(tb: Any, shape: tuple) -> Any:
    dims = [tb.tensor_shape_pb2.TensorShapeProto.Dim(size=int(d)) for d in shape]
    return tb.attr_value_pb2.AttrValue(
        list=tb.attr_value_pb2.AttrValue.ListValue(
            shape=[tb.tensor_shape_pb2.TensorShapeProto(dim=dims)]
        )
    )


def graph_def(model: Any, example: Any, tb: Any) -> Any:
    """TensorBoard's ``GraphDef`` of ``model`` applied to ``example`` (a batch, as the
    model takes it): a node per operation (in its module's scope, with its output shape),
    per parameter and buffer (named as in ``state_dict``) and for the input and each
    output. ``tb`` is the namespace of tensorboard's protocol buffers."""
    x = example if isinstance(example, Tensor) else Tensor(example)
    was_training = model.training
    model.eval()  # no running statistics updated, no dropout drawn
    try:
        calls, result = trace(model, [x])
    finally:
        model.train(was_training)
    state = {id(t): name for name, t in model.named_parameters()}
    buffers = {id(t): name for name, t in model.named_buffers()}
    nodes: list[Any] = []
    producer: dict[int, str] = {}  # tensor id -> the node that holds it
    taken: dict[str, int] = {}

    def fresh(name: str) -> str:
        taken[name] = taken.get(name, 0) + 1
        return name if taken[name] == 1 else f"{name}_{taken[name] - 1}"

    def node(name: str, op: str, inputs: list[str], shape: tuple | None) -> str:
        attr = {"_output_shapes": _shape_attr(tb, shape)} if shape is not None else {}
        nodes.append(tb.node_def_pb2.NodeDef(name=name, op=op, input=inputs, attr=attr))
        return name

    def source(t: Tensor) -> str:
        if id(t) not in producer:
            if t is x:
                name, op = "input", "Input"
            elif id(t) in state:
                name, op = state[id(t)].replace(".", "/"), "Parameter"
            elif id(t) in buffers:
                name, op = buffers[id(t)].replace(".", "/"), "Buffer"
            else:
                name, op = fresh("constant"), "Const"
            producer[id(t)] = node(name, op, [], t.shape)
        return producer[id(t)]

    for call in calls:
        inputs = [source(t) for t in call.inputs if isinstance(t, Tensor)]
        scope = call.layer.replace(".", "/")
        name = fresh(f"{scope}/{call.op}" if scope else call.op)
        first = call.outputs[0] if call.outputs else None
        node(name, call.op, inputs, first.shape if isinstance(first, Tensor) else None)
        for o in call.outputs:
            producer[id(o)] = name
    for t in _tensors(result):
        node(fresh("output"), "Output", [source(t)], t.shape)
    return tb.graph_pb2.GraphDef(node=nodes, versions=tb.versions_pb2.VersionDef(producer=22))

"""Tensor's methods are attached at import by functional/methods.py; autograd.py declares
their signatures for type checkers. These tests keep the two in step."""

import ast
import inspect
import pathlib
import re

import strided as st
from strided import autograd


def _declared() -> dict[str, ast.FunctionDef]:
    tree = ast.parse(pathlib.Path(autograd.__file__).read_text())
    tensor = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")
    block = next(
        n for n in tensor.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    )
    return {n.name: n for n in block.body if isinstance(n, ast.FunctionDef)}


def _parameters(node: ast.FunctionDef) -> list[tuple[str, str]]:
    a = node.args
    out = [(p.arg, "positional") for p in a.posonlyargs + a.args]
    out += [("*" + a.vararg.arg, "var")] if a.vararg else []
    out += [(p.arg, "keyword") for p in a.kwonlyargs]
    out += [("**" + a.kwarg.arg, "var")] if a.kwarg else []
    return out


def _runtime_parameters(fn) -> list[tuple[str, str]]:
    out = []
    for p in inspect.signature(fn).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            out.append(("*" + p.name, "var"))
        elif p.kind is p.VAR_KEYWORD:
            out.append(("**" + p.name, "var"))
        elif p.kind is p.KEYWORD_ONLY:
            out.append((p.name, "keyword"))
        else:
            out.append((p.name, "positional"))
    return out


def test_every_declared_method_is_attached_with_the_same_parameters():
    declared = _declared()
    assert len(declared) > 100
    wrong = []
    for name, node in declared.items():
        attached = vars(st.Tensor).get(name)
        assert attached is not None, f"Tensor.{name} is declared but never attached"
        if isinstance(attached, property):
            assert any(ast.unparse(d) == "property" for d in node.decorator_list), name
            continue
        want = _parameters(node)[1:]  # without self
        got = _runtime_parameters(attached)[1:]
        if got != want:
            wrong.append(f"{name}: attached {got}, declared {want}")
    assert not wrong, "\n".join(wrong)


def test_every_attached_method_is_declared():
    source = pathlib.Path(inspect.getfile(st.functional.methods)).read_text()
    attached = set(re.findall(r"^Tensor\.(\w+)", source, flags=re.M))
    attached |= set(
        re.findall(
            r"Tensor\.(\w+)",
            " ".join(line for line in source.splitlines() if line.startswith("Tensor.")),
        )
    )
    for names in re.findall(r"for _name in \(([^)]*)\)", source):
        attached |= set(re.findall(r'"(\w+)"', names))
    assert {"__add__", "sum", "reshape", "zero_", "float"} <= attached
    missing = attached - set(_declared()) - {"__hash__"}
    assert not missing, f"attached to Tensor but not declared for type checkers: {missing}"

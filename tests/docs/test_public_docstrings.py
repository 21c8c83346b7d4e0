"""Every public function and class of strided has a docstring that names its parameters —
the API reference of the docs site is generated from them."""

import importlib
import inspect
import re

OPTIONAL = {
    "strided.onnx": "onnx",
    "strided.distributed": "mpi4py",
    "strided.sklearn": "sklearn",
    "strided.viz": "matplotlib",
}


# the packages whose names make up the public API (the API reference documents these);
# strided.kernels is the raw array math beneath them, documented for readers, not users
PACKAGES = [
    "strided",
    "strided.autograd",
    "strided.functional",
    "strided.nn",
    "strided.optim",
    "strided.optim.lr_scheduler",
    "strided.data",
    "strided.data.transforms",
    "strided.models",
    "strided.train",
    "strided.io",
    "strided.onnx",
    "strided.distributed",
    "strided.sklearn",
    "strided.viz",
    "strided.ensemble",
    "strided.search",
]


def _installed(name):
    # a folder of the same name on sys.path (tests/onnx under `python -m pytest`) is a
    # namespace package, not the installed extra: it has no origin
    spec = importlib.util.find_spec(name)
    return spec is not None and spec.origin not in (None, "namespace")


def _modules():
    for name in PACKAGES:
        needs = OPTIONAL.get(name)
        if needs is not None and not _installed(needs):
            continue
        try:
            yield importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:  # a package of the list that does not exist yet is fine
                raise


def _public(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name, None)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(
            obj, "__module__", ""
        ).startswith("strided"):
            yield f"{module.__name__}.{name}", obj


def _parameters(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in sig.parameters.values()
        if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def _problems():
    seen, problems = set(), []
    for module in _modules():
        for qualname, obj in _public(module):
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            doc = inspect.getdoc(obj) or ""
            if not doc.strip():
                problems.append(f"{qualname}: no docstring")
                continue
            target = obj.__init__ if inspect.isclass(obj) else obj
            if inspect.isclass(obj):  # a subclass may rely on its bases' parameter lists
                doc = "\n".join(
                    [
                        inspect.getdoc(k) or ""
                        for k in obj.__mro__
                        if k.__module__.startswith("strided")
                    ]
                    + [inspect.getdoc(obj.__init__) or ""]
                )
            words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", doc))
            missing = [p for p in _parameters(target) if p not in words]
            if missing and not (inspect.isclass(obj) and obj.__init__ is object.__init__):
                problems.append(f"{qualname}: parameters not described: {', '.join(missing)}")
    return problems


def test_every_public_function_and_class_documents_its_parameters():
    problems = _problems()
    assert not problems, f"{len(problems)} public names lack documentation:\n" + "\n".join(problems)

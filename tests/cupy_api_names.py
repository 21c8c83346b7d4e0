"""Write tests/cupy_api.txt: the names CuPy has, for the simulated GPU to check against
where CuPy is not installed (CI). Run it where CuPy imports (it does without a GPU):

    python tests/cupy_api_names.py
"""

from __future__ import annotations

import pathlib

import cupy

# the namespaces strided may reach through the array module
MODULES = ["", "linalg", "random", "lib", "lib.stride_tricks", "fft"]


def names() -> list[str]:
    found = {f"ndarray.{n}" for n in dir(cupy.ndarray) if not n.startswith("_")}
    for path in MODULES:
        module = cupy
        for part in filter(None, path.split(".")):
            module = getattr(module, part)
        prefix = f"{path}." if path else ""
        for n in dir(module):
            if n.startswith("_"):
                continue
            found.add(prefix + n)
            value = getattr(module, n)
            if isinstance(value, cupy.ufunc):
                methods = ("reduce", "accumulate", "reduceat", "at", "outer")
                found.update(f"{prefix}{n}.{m}" for m in methods if hasattr(value, m))
            if isinstance(value, type) and path == "random":
                found.update(f"{prefix}{n}.{m}" for m in dir(value) if not m.startswith("_"))
    # what cupy.random.default_rng() returns is not exported by name
    generator = _generator_class()  # default_rng itself needs a GPU
    found.update(f"random.Generator.{m}" for m in dir(generator) if not m.startswith("_"))
    return sorted(found)


def _generator_class() -> type:
    from cupy.random import _generator_api

    return _generator_api.Generator


if __name__ == "__main__":
    out = pathlib.Path(__file__).with_name("cupy_api.txt")
    listed = names()
    header = f"# CuPy {cupy.__version__}: written by tests/cupy_api_names.py"
    out.write_text("\n".join([header, *listed]) + "\n")
    print(f"{out}: {len(listed)} names")

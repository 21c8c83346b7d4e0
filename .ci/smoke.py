"""Smoke test of an installed wheel: run from outside the source tree by .ci/check."""

import pathlib

import strided as st
import strided.functional as F
import strided.nn as nn

here = pathlib.Path(st.__file__).resolve()
assert "site-packages" in here.parts, f"strided was imported from {here}, not the installed wheel"
assert (here.parent / "py.typed").is_file(), "py.typed is missing from the wheel"

model = nn.Sequential(
    nn.Conv2d(1, 4, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(4 * 14 * 14, 10),
)
x = st.randn(2, 1, 28, 28, generator=st.Generator(0))
loss = F.cross_entropy(model(x), st.tensor([3, 7]))
loss.backward()
grads = [p.grad for p in model.parameters()]
assert all(
    g is not None and g.shape == p.shape for g, p in zip(grads, model.parameters(), strict=True)
)
print(f"strided {st.__version__} from {here.parent}: forward + backward ok, loss {loss.item():.4f}")

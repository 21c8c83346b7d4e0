"""LeNet-5 (LeCun, Bottou, Bengio, Haffner 1998, "Gradient-based learning applied to
document recognition", Fig. 2), in the two forms the notes show.

classic: 32×32 input, C1 conv 5×5 → 6@28×28, tanh, S2 average pooling → 6@14×14,
         C3 conv 5×5 → 16@10×10, S4 → 16@5×5, C5 conv 5×5 → 120@1×1, F6 → 84, output.
modern:  28×28 MNIST input with padding 2 in the first conv so the geometry is the same,
         ReLU and max pooling, C5 as a Linear layer on the flattened 16·5·5 = 400 features.

Both have 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 parameters. Simplifications of the
paper, as in the notes: C3 connects every input map (the paper's connection table leaves
out some, giving 1,516 instead of 2,416 weights there), the subsampling layers have no
trainable coefficient and the output layer is a Linear layer rather than RBF units.
"""

from __future__ import annotations

from ..autograd import Tensor
from ..nn.activation import ReLU, Tanh
from ..nn.containers import Sequential
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.pool import AvgPool2d, MaxPool2d

__all__ = ["LeNet5", "lenet5"]


class LeNet5(Module):
    """LeNet-5; `features` (convolutions and pooling) then `classifier` (fully connected).

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    variant : str
        Which published form of the network to build (see above).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, variant: str = "modern"):
        super().__init__()
        if variant not in ("classic", "modern"):
            raise ValueError(f"lenet5: variant must be 'classic' or 'modern', got {variant!r}")
        self.variant = variant
        if variant == "classic":
            self.input_size = 32
            self.features = Sequential(
                Conv2d(in_channels, 6, 5),
                Tanh(),
                AvgPool2d(2),
                Conv2d(6, 16, 5),
                Tanh(),
                AvgPool2d(2),
                Conv2d(16, 120, 5),
                Tanh(),
            )  # C5: a 5×5 conv on a 5×5 map, i.e. 1×1 out
            self._feature_shape = (120, 1, 1)
            self.classifier = Sequential(Linear(120, 84), Tanh(), Linear(84, num_classes))
        else:
            self.input_size = 28
            self.features = Sequential(
                Conv2d(in_channels, 6, 5, padding=2),
                ReLU(),
                MaxPool2d(2),
                Conv2d(6, 16, 5),
                ReLU(),
                MaxPool2d(2),
            )
            self._feature_shape = (16, 5, 5)
            self.classifier = Sequential(
                Linear(16 * 5 * 5, 120), ReLU(), Linear(120, 84), ReLU(), Linear(84, num_classes)
            )

    def forward(self, x: Tensor) -> Tensor:
        s = self.input_size
        if tuple(x.shape[-2:]) != (s, s):
            # the FC head (or the classic C5 conv) is sized for exactly this input
            raise ValueError(
                f"lenet5(variant={self.variant!r}): expects {s}×{s} inputs (N, C, {s}, {s}); "
                f"the fully connected head is sized for {'×'.join(map(str, self._feature_shape))}"
                f" features; got input of shape {tuple(x.shape)}"
            )
        f = self.features(x)
        return self.classifier(f.reshape(f.shape[0], -1))


def lenet5(num_classes: int = 10, in_channels: int = 1, variant: str = "modern") -> LeNet5:
    """LeNet-5, `variant="classic"` (tanh, average pooling, 32×32) or "modern" (ReLU, max
    pooling, 28×28 with padding 2); 61,706 parameters with 10 classes.

    Parameters
    ----------
    num_classes : int
        Size of the output layer (the number of classes).
    in_channels : int
        Channels of the input images (1 for grey, 3 for RGB).
    """
    return LeNet5(num_classes=num_classes, in_channels=in_channels, variant=variant)

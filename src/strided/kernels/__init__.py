"""Raw array math with no autograd: im2col/col2im, the convolution kernels (forward,
backward-data, backward-filter), pooling with argmax, padding. The fast paths of the
library live here and nowhere else; `strided.functional` wraps them in Functions."""

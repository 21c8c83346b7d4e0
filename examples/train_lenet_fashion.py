"""Train LeNet-5 on Fashion-MNIST: what `strided train` does, written out.

    python examples/train_lenet_fashion.py            # about 10 epochs, ~90% test accuracy
    python examples/train_lenet_fashion.py --epochs 1  # a quick look

Needs Fashion-MNIST: `apt-get install dataset-fashion-mnist` on Debian/Ubuntu, or run
once with --download (fetches the four files from the official mirror into the user cache).
"""

import argparse

import strided
from strided.data import DataLoader, FashionMNIST, train_val_split
from strided.data import transforms as T
from strided.data.registry import dataset_info
from strided.io import save_model
from strided.models import lenet5
from strided.optim import Adam
from strided.train import Checkpoint, EarlyStopping, LearningCurves, Trainer

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--epochs", type=int, default=10)
parser.add_argument("--out", default="runs/example-lenet5")
parser.add_argument("--download", action="store_true")
args = parser.parse_args()

# 1. Data: uint8 images (N, 1, 28, 28) and int64 labels. 10% of the training set is held
#    out to watch for overfitting; the test set is touched once, at the end.
train_set = FashionMNIST(train=True, download=args.download)
test_set = FashionMNIST(train=False, download=args.download)
train_part, val_part = train_val_split(train_set, 0.1, seed=0)

# Pixels to [0, 1], then zero mean and unit variance (the training set's statistics, which
# the data-set registry records: mean 0.2860, std 0.3530).
info = dataset_info("fashion-mnist")
to_input = T.Compose([T.ToFloat(), T.Normalize(info.mean, info.std)])
train_loader = DataLoader(
    train_part, batch_size=128, shuffle=True, seed=0, transform=to_input, prefetch=2
)
val_loader = DataLoader(val_part, batch_size=512, transform=to_input)
test_loader = DataLoader(test_set, batch_size=512, transform=to_input)

# 2. Model and optimiser. The seed fixes the initial weights.
strided.manual_seed(0)
model = lenet5(num_classes=10)  # ReLU, max pooling, 61,706 parameters
optimizer = Adam(model.parameters(), lr=1e-3)

# 3. Train: a progress bar per epoch, validation after each, the best weights kept
#    (early stopping), and a checkpoint + learning curves written after every epoch.
#    If the run is interrupted, fit(..., resume=f"{args.out}/checkpoint.safetensors")
#    continues it exactly.
trainer = Trainer(
    model,
    optimizer,
    callbacks=[
        EarlyStopping("val_loss", patience=3),
        LearningCurves(args.out),
        Checkpoint(args.out),
    ],
)
history = trainer.fit(train_loader, val_loader, epochs=args.epochs)

# 4. Test once, and keep the weights.
test = trainer.evaluate(test_loader, confusion=True)
print(f"test accuracy {test['accuracy']:.4f}")
for name, acc in zip(test_set.classes, test["per_class_accuracy"], strict=True):
    print(f"  {name:12s} {acc:.3f}")
save_model(f"{args.out}/model.safetensors", model, {"test_accuracy": test["accuracy"]})
print(f"curves in {args.out}/history.csv; weights in {args.out}/model.safetensors")

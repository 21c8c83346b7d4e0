"""The TensorBoard callback: what it writes, read back with TensorBoard's own
EventAccumulator and checked against the run's History, the model and the hooks."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

import strided
from strided.data import DataLoader
from strided.nn import Conv2d, Flatten, Linear, Module, ReLU, Sequential
from strided.optim import SGD
from strided.train import Checkpoint, LambdaCallback, SummaryWriter, TensorBoard, Trainer
from strided.train.tensorboard import filter_grid, prediction_grid, tag_of, writer_rank

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402
from tensorboard.plugins.hparams import api_pb2  # noqa: E402
from tensorboard.plugins.hparams import metadata as hparams_metadata  # noqa: E402

CLASSES = ["zero", "one", "two"]


def read(log_dir) -> EventAccumulator:
    """Everything in ``log_dir``, no sampling (TensorBoard keeps a sample by default)."""
    ea = EventAccumulator(
        str(log_dir), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0}
    )
    ea.Reload()
    return ea


def scalars(ea, tag) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in ea.Scalars(tag)]


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.3, (n, 1, 8, 8)).astype(np.float32)
    x[np.arange(n), 0, 2 * y, :] += 2.0  # each class a bright row
    return x, y


def make_trainer(callbacks, seed=0, lr=0.2):
    strided.manual_seed(seed)
    model = Sequential(Conv2d(1, 4, 3), ReLU(), Flatten(), Linear(4 * 6 * 6, 3))
    return Trainer(
        model, SGD(model.parameters(), lr=lr), callbacks=callbacks, progress=False, verbose=False
    )


def loaders(batch=8):
    x, y = data()
    xv, yv = data(16, seed=1)
    return (
        DataLoader((x, y), batch_size=batch, shuffle=True, seed=3),
        DataLoader((xv, yv), batch_size=8),
    )


class Recorder(LambdaCallback):
    """Remembers each step's loss and learning rate as the trainer reports them."""

    def __init__(self):
        super().__init__(on_batch_end=self.record)
        self.loss, self.lr = {}, {}

    def record(self, trainer, logs):
        self.loss[logs["step"]] = logs["loss"]
        self.lr[logs["step"]] = trainer.optimizer.param_groups[0]["lr"]


def test_scalars_match_the_history_and_the_steps(tmp_path):
    rec = Recorder()
    tb = TensorBoard(tmp_path / "tb", update_freq=1, histogram_freq=0, images=False)
    trainer = make_trainer([tb, rec])
    train, val = loaders()
    history = trainer.fit(train, val, epochs=3)
    ea = read(tmp_path / "tb")
    tags = set(ea.Tags()["scalars"])
    # every numeric column of the history, at the step where its epoch ended
    for column in history.keys():
        if column == "step":
            continue
        tag = tag_of(column)
        assert tag in tags, (column, tag, sorted(tags))
        got = scalars(ea, tag)
        assert [s for s, _ in got] == history["step"]
        assert [v for _, v in got] == pytest.approx(history[column], rel=1e-6)
    assert {
        "loss/train",
        "accuracy/train",
        "loss/val",
        "accuracy/val",
        "epoch/lr",
        "epoch/images_per_s",
    } <= tags
    # one point per optimiser step, each the loss the trainer computed at that step
    steps = list(range(1, trainer.global_step + 1))
    assert trainer.global_step == 3 * len(train)
    assert [s for s, _ in scalars(ea, "batch/loss")] == steps
    assert [v for _, v in scalars(ea, "batch/loss")] == pytest.approx(
        [rec.loss[s] for s in steps], rel=1e-6
    )
    assert [v for _, v in scalars(ea, "batch/lr")] == pytest.approx([rec.lr[s] for s in steps])
    assert all(v > 0 for _, v in scalars(ea, "batch/images_per_s"))


def test_update_freq_thins_the_step_scalars(tmp_path):
    train, val = loaders()
    make_trainer([TensorBoard(tmp_path / "a", update_freq=4, histogram_freq=0, images=False)]).fit(
        train, val, epochs=2
    )
    assert [s for s, _ in scalars(read(tmp_path / "a"), "batch/loss")] == [4, 8, 12]
    make_trainer(
        [TensorBoard(tmp_path / "b", update_freq="epoch", histogram_freq=0, images=False)]
    ).fit(train, val, epochs=2)
    tags = read(tmp_path / "b").Tags()["scalars"]
    assert "batch/loss" not in tags and "loss/train" in tags


def test_histograms_of_weights_and_gradients_every_n_steps(tmp_path):
    grads = {}

    def keep_grads(trainer, logs):
        grads[logs["step"]] = {n: p.grad.data.copy() for n, p in trainer.model.named_parameters()}

    tb = TensorBoard(tmp_path / "tb", update_freq="epoch", histogram_freq=4, images=False)
    trainer = make_trainer([tb, LambdaCallback(on_batch_end=keep_grads)])
    train, val = loaders(batch=10)  # 5 steps an epoch
    trainer.fit(train, val, epochs=2)
    ea = read(tmp_path / "tb")
    names = [n for n, _ in trainer.model.named_parameters()]
    hist_tags = set(ea.Tags()["histograms"])
    assert hist_tags == {f"{kind}/{n}" for kind in ("weights", "gradients") for n in names}
    for tag in hist_tags:
        # every 4th step, and the last step (10) at the end of training
        assert [h.step for h in ea.Histograms(tag)] == [4, 8, 10]
    final = dict(trainer.model.named_parameters())
    for n in names:
        h = ea.Histograms(f"weights/{n}")[-1].histogram_value
        w = final[n].data.astype(np.float64)
        assert (h.num, h.min, h.max) == (w.size, w.min(), w.max())
        assert h.sum == pytest.approx(w.sum()) and sum(h.bucket) == w.size
        g = ea.Histograms(f"gradients/{n}")[1].histogram_value  # step 8
        assert g.sum == pytest.approx(grads[8][n].astype(np.float64).sum(), rel=1e-6, abs=1e-9)
        assert (g.min, g.max) == pytest.approx((grads[8][n].min(), grads[8][n].max()))


def test_images_filters_and_predictions_every_epoch(tmp_path):
    tb = TensorBoard(
        tmp_path / "tb", update_freq="epoch", histogram_freq=0, num_images=5, class_names=CLASSES
    )
    trainer = make_trainer([tb])
    train, val = loaders()
    trainer.fit(train, val, epochs=2)
    ea = read(tmp_path / "tb")
    ends = [len(train), 2 * len(train)]
    assert set(ea.Tags()["images"]) == {"filters/0.weight", "predictions/images"}
    assert [e.step for e in ea.Images("filters/0.weight")] == ends
    assert [e.step for e in ea.Images("predictions/images")] == ends
    from PIL import Image

    last = ea.Images("filters/0.weight")[-1]
    png = np.asarray(Image.open(io.BytesIO(last.encoded_image_string)))
    assert png.shape == (last.height, last.width, 3)
    assert np.array_equal(
        png, (filter_grid(trainer.model[0].weight.data) * 255 + 0.5).astype(np.uint8)
    )
    # the table of the last epoch is what the final model predicts on the first 5 inputs
    xv, yv = data(16, seed=1)
    predicted = trainer.predict(xv[:5]).argmax(axis=1)
    text = ea.Tensors("predictions/classes")[-1].tensor_proto.string_val[0].decode()
    rows = [r.split("|")[1:-1] for r in text.splitlines()[2:]]
    assert [(r[1].strip(), r[2].strip()) for r in rows] == [
        (CLASSES[t], CLASSES[p]) for t, p in zip(yv[:5], predicted, strict=True)
    ]
    png = ea.Images("predictions/images")[-1].encoded_image_string
    frame = np.asarray(Image.open(io.BytesIO(png)))
    # each input is framed green where the prediction is right, red where it is wrong
    expected = prediction_grid(xv[:5], predicted == yv[:5])
    assert np.array_equal(frame, (expected * 255 + 0.5).astype(np.uint8))


def test_hparams_session_with_final_metrics(tmp_path):
    tb = TensorBoard(
        tmp_path / "tb",
        histogram_freq=0,
        images=False,
        hparams={"lr": 0.2, "optimizer": "sgd", "augment": False, "depth": None},
        close_on_train_end=False,
    )
    trainer = make_trainer([tb])
    train, val = loaders()
    trainer.fit(train, val, epochs=2)
    tb.add_results({"test_accuracy": 0.75})
    tb.close()
    ea = read(tmp_path / "tb")
    content = ea.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    start = hparams_metadata.parse_session_start_info_plugin_data(
        content[hparams_metadata.SESSION_START_INFO_TAG]
    )
    assert dict(start.hparams)["lr"].number_value == pytest.approx(0.2)
    assert dict(start.hparams)["optimizer"].string_value == "sgd"
    assert dict(start.hparams)["augment"].bool_value is False
    assert "depth" not in start.hparams  # None: not a value
    experiment = hparams_metadata.parse_experiment_plugin_data(
        content[hparams_metadata.EXPERIMENT_TAG]
    )
    metrics = [m.name.tag for m in experiment.metric_infos]
    assert {"loss/train", "accuracy/train", "loss/val", "accuracy/val", "accuracy/test"} == set(
        metrics
    )
    kinds = {h.name: h.type for h in experiment.hparam_infos}
    assert kinds == {
        "lr": api_pb2.DATA_TYPE_FLOAT64,
        "optimizer": api_pb2.DATA_TYPE_STRING,
        "augment": api_pb2.DATA_TYPE_BOOL,
    }
    end = hparams_metadata.parse_session_end_info_plugin_data(
        content[hparams_metadata.SESSION_END_INFO_TAG]
    )
    assert end.status == api_pb2.STATUS_SUCCESS
    # the metric the HParams tab shows is the tag's last value
    assert scalars(ea, "accuracy/test") == [(trainer.global_step, 0.75)]
    assert scalars(ea, "accuracy/val")[-1][1] == pytest.approx(trainer.history["val_accuracy"][-1])


def test_default_hparams_come_from_the_trainer(tmp_path):
    tb = TensorBoard(tmp_path / "tb", histogram_freq=0, images=False)
    trainer = make_trainer([tb])
    trainer.config = {"model": "tiny", "seed": 4, "classes": ["a", "b"]}
    train, val = loaders()
    trainer.fit(train, val, epochs=1)
    content = read(tmp_path / "tb").PluginTagToContent(hparams_metadata.PLUGIN_NAME)
    h = dict(
        hparams_metadata.parse_session_start_info_plugin_data(
            content[hparams_metadata.SESSION_START_INFO_TAG]
        ).hparams
    )
    assert h["model"].string_value == "tiny" and h["seed"].number_value == 4
    assert h["optimizer"].string_value == "SGD" and h["lr"].number_value == pytest.approx(0.2)
    assert h["batch_size"].number_value == 8 and "classes" not in h


def test_resume_continues_the_curve_without_duplicated_steps(tmp_path):
    """An interrupted run left events after its last checkpoint; the resumed run
    recomputes those steps, and TensorBoard shows each step once, with the new values."""
    train, val = loaders()
    steps_per_epoch = len(train)
    first = make_trainer(
        [
            TensorBoard(tmp_path / "tb", update_freq=1, histogram_freq=3, images=False),
            Checkpoint(tmp_path),
        ]
    )
    first.fit(train, val, epochs=1)
    # what a killed run leaves: steps past the checkpoint, in a file never closed
    orphan = SummaryWriter(tmp_path / "tb")
    for s in range(steps_per_epoch + 1, steps_per_epoch + 4):
        orphan.add_scalar("batch/loss", 1000.0 + s, s)
        orphan.add_histogram("weights/0.weight", np.full(5, 1000.0), s)
    orphan.flush()

    rec = Recorder()
    train, val = loaders()
    resumed = make_trainer(
        [
            TensorBoard(tmp_path / "tb", update_freq=1, histogram_freq=3, images=False),
            Checkpoint(tmp_path),
            rec,
        ]
    )
    history = resumed.fit(train, val, epochs=3, resume=tmp_path / "checkpoint.safetensors")
    ea = read(tmp_path / "tb")
    got = scalars(ea, "batch/loss")
    assert [s for s, _ in got] == list(range(1, 3 * steps_per_epoch + 1))
    assert all(v < 100 for _, v in got)  # none of the orphans
    assert [v for s, v in got if s > steps_per_epoch] == pytest.approx(
        [rec.loss[s] for s in range(steps_per_epoch + 1, 3 * steps_per_epoch + 1)], rel=1e-6
    )
    for column in ("train_loss", "val_accuracy"):
        assert [s for s, _ in scalars(ea, tag_of(column))] == history["step"]
        assert [v for _, v in scalars(ea, tag_of(column))] == pytest.approx(history[column])
    hist_steps = [h.step for h in ea.Histograms("weights/0.weight")]
    assert hist_steps == sorted(set(hist_steps)) and hist_steps[-1] == 3 * steps_per_epoch
    assert all(h.histogram_value.max < 100 for h in ea.Histograms("weights/0.weight"))
    assert graph_events(tmp_path / "tb") == 1  # the resumed run does not draw it again


def graph_events(log_dir) -> int:
    return sum(
        e.HasField("graph_def")
        for f in sorted(log_dir.iterdir())
        for e in EventFileLoader(str(f)).Load()
    )


def test_graph_of_the_model(tmp_path):
    tb = TensorBoard(tmp_path / "tb", update_freq="epoch", histogram_freq=0, images=False)
    trainer = make_trainer([tb])
    train, val = loaders()
    trainer.fit(train, val, epochs=1)
    nodes = {n.name: n for n in read(tmp_path / "tb").Graph().node}

    def shape(node):
        return tuple(d.size for d in node.attr["_output_shapes"].list.shape[0].dim)

    params = {name.replace(".", "/"): p for name, p in trainer.model.named_parameters()}
    assert {n for n, node in nodes.items() if node.op == "Parameter"} == set(params)
    assert all(shape(nodes[n]) == p.shape for n, p in params.items())
    assert shape(nodes["input"]) == (1, 1, 8, 8)
    conv = [n for n in nodes.values() if n.op == "Conv2d"]
    assert len(conv) == 1 and conv[0].name.startswith("0/")
    assert list(conv[0].input) == ["input", "0/weight", "0/bias"] and shape(conv[0]) == (1, 4, 6, 6)
    assert list(nodes["output"].input) == [
        n for n in nodes if n.startswith("3/") and nodes[n].op != "Parameter"
    ]
    assert shape(nodes["output"]) == (1, 3)
    assert graph_events(tmp_path / "tb") == 1


class Residual(Module):
    """x + block(x), with one ReLU module applied twice: scopes and repeated calls."""

    def __init__(self):
        super().__init__()
        self.conv = Conv2d(2, 2, 3, padding=1)
        self.relu = ReLU()

    def forward(self, x):
        return self.relu(self.conv(self.relu(x)) + x)


def test_graph_scopes_follow_the_modules():
    from strided.train.tensorboard import _tb
    from strided.train.tensorboard_graph import graph_def

    model = Sequential(Residual(), Flatten())
    graph = graph_def(model, np.zeros((2, 2, 4, 4), np.float32), _tb())
    ops = {n.name: (n.op, list(n.input)) for n in graph.node}
    # the add belongs to the block itself, each ReLU call to the ReLU module (once each)
    add = [n for n, (op, _) in ops.items() if op == "Add"]
    assert add == ["0/Add"] and ops["0/Add"][1][1] == "input"
    assert ops["0/relu/ReLU"][1] == ["input"] and ops["0/relu/ReLU_1"][1] == ["0/Add"]
    assert ops["0/conv/Conv2d"][1] == ["0/relu/ReLU", "0/conv/weight", "0/conv/bias"]
    assert [n for n, (op, _) in ops.items() if op == "Reshape"] == ["1/Reshape"]
    assert model.training  # tracing ran in eval mode and put the mode back


def test_a_graph_that_cannot_be_traced_is_a_warning(tmp_path, monkeypatch):
    import strided.train.tensorboard_graph as tg

    def broken(*args):
        raise RuntimeError("no trace")

    monkeypatch.setattr(tg, "graph_def", broken)
    trainer = make_trainer([TensorBoard(tmp_path / "tb", histogram_freq=0)])
    train, val = loaders()
    with pytest.warns(RuntimeWarning, match="Sequential could not be traced.*no trace"):
        trainer.fit(train, val, epochs=1)
    assert graph_events(tmp_path / "tb") == 0
    assert "loss/train" in read(tmp_path / "tb").Tags()["scalars"]


def test_events_reach_the_file_before_a_checkpoint_inside_an_epoch(tmp_path):
    on_disk = {}

    def look(trainer, logs):  # runs after the Checkpoint callback, as a kill would
        (path,) = (tmp_path / "tb").iterdir()
        on_disk[logs["step"]] = sorted(
            e.step
            for e in EventFileLoader(str(path)).Load()
            if any(v.tag == "batch/loss" for v in e.summary.value)
        )

    tb = TensorBoard(tmp_path / "tb", update_freq=1, histogram_freq=0, images=False, flush_secs=1e9)
    checkpoint = Checkpoint(tmp_path, every_steps=4)
    make_trainer([tb, checkpoint, LambdaCallback(order=200, on_batch_end=look)]).fit(
        *loaders(), epochs=1
    )
    assert on_disk[4] == [1, 2, 3, 4]  # flushed for the checkpoint at step 4
    assert on_disk[5] == [1, 2, 3, 4]  # and not at every step


def test_a_new_event_file_sorts_after_the_existing_ones(tmp_path):
    names = []
    for _ in range(3):  # within one second: the names must still sort in creation order
        with SummaryWriter(tmp_path) as w:
            names.append(w.path.name)
    assert names == sorted(names) and len(set(names)) == 3


@pytest.mark.parametrize("how", ["argument", "trainer", "environment"])
def test_only_rank_zero_writes(tmp_path, monkeypatch, how):
    tb = TensorBoard(
        tmp_path / "tb", update_freq=1, histogram_freq=1, rank=1 if how == "argument" else None
    )
    trainer = make_trainer([tb])
    if how == "trainer":
        trainer.rank = 1
    if how == "environment":
        monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    train, val = loaders()
    trainer.fit(train, val, epochs=1)
    tb.add_results({"test_accuracy": 1.0})
    tb.close()
    assert not (tmp_path / "tb").exists()
    assert trainer.history["train_loss"]  # the training itself ran


def test_writer_rank_rule(monkeypatch):
    monkeypatch.delenv("OMPI_COMM_WORLD_RANK", raising=False)
    monkeypatch.delenv("PMI_RANK", raising=False)
    assert writer_rank() == 0
    monkeypatch.setenv("PMI_RANK", "3")
    assert writer_rank() == 3
    trainer = type("T", (), {"rank": 2})()
    assert writer_rank(trainer) == 2
    assert writer_rank(trainer, rank=0) == 0


def test_missing_tensorboard_is_one_line_naming_the_extra(tmp_path, hide_module):
    hide_module("tensorboard")
    with pytest.raises(ImportError) as err:
        TensorBoard(tmp_path / "tb")
    message = str(err.value)
    assert "strided[tensorboard]" in message and "\n" not in message
    assert not (tmp_path / "tb").exists()


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoard(tmp_path, update_freq=0)
    with pytest.raises(ValueError, match="histogram_freq"):
        TensorBoard(tmp_path, histogram_freq=-1)
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match=r"add_image\('x'\).*\(4, 4\).*CHW"):
            w.add_image("x", np.zeros((4, 4)))
        with pytest.raises(ValueError, match="1 or 3 channels"):
            w.add_image("x", np.zeros((2, 4, 4)))
        assert w.add_histogram("h", np.array([np.nan, np.inf])) is False
        w.add_scalar("s", 1.0)
        with pytest.raises(ValueError, match="tag 's' already holds scalars, cannot add a text"):
            w.add_text("s", "x")
    with pytest.raises(ValueError, match="closed"):
        w.add_scalar("x", 1.0)


def test_summary_writer_values_round_trip(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("a", np.float32(0.5), 3)
        w.add_histogram("h", np.array([1.0, 2.0, 2.0, np.nan, 7.0]), 2, bins=3)
        w.add_image("grey", np.linspace(0, 1, 12).reshape(3, 4), 1, dataformats="HW")
        w.add_text("t", "**bold**", 5)
    ea = read(tmp_path)
    assert scalars(ea, "a") == [(3, 0.5)]
    h = ea.Histograms("h")[0].histogram_value
    assert (h.num, h.min, h.max, h.sum, h.sum_squares) == (4, 1, 7, 12, 58)
    assert list(h.bucket) == [3, 0, 1] and list(h.bucket_limit) == [3, 5, 7]
    img = ea.Images("grey")[0]
    assert (img.width, img.height) == (4, 3)
    assert ea.Tensors("t")[0].tensor_proto.string_val == [b"**bold**"]


def test_tag_of_groups_splits():
    assert tag_of("train_loss") == "loss/train"
    assert tag_of("val_top5") == "top5/val"
    assert tag_of("test_accuracy") == "accuracy/test"
    assert tag_of("lr") == "epoch/lr"
    assert tag_of("images_per_s") == "epoch/images_per_s"


def test_filter_grid_layout():
    w = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2)
    rgb = filter_grid(w)  # 2 RGB tiles of 2×2, enlarged 12× → 24×24, in one row
    assert rgb.shape == (1 + 25, 1 + 2 * 25, 3)
    grey = filter_grid(np.ones((4, 2, 3, 3)))  # a row per filter, a column per channel
    assert grey.shape == (1 + 4 * 25, 1 + 2 * 25, 3)
    assert math.isclose(grey.min(), 0.0)  # constant tiles: zero after scaling, not NaN
    with pytest.raises(ValueError, match="out, in, kh, kw"):
        filter_grid(np.ones((3, 3)))

"""Host<->device copies per training step, counted on the strict CuPy stand-in.

On a GPU every copy between host and device makes the host wait for the kernels queued
before it, so ``fit`` copies on purpose only: the batch in (``x`` by ``fit``, ``y`` by the
loss, ``lengths`` by the recurrent layer, each once), and one vector out (the loss and the
predicted classes). The argument checks that must look at device data read back one
vector each (the Embedding's id range; the gradient norm when clipping). These tests
train report B's models (tiny sizes) and a small ResNet through ``minidl.train.fit`` and
compare every copy, by the library function that made it, with that list: a change that
adds a copy to the step fails here, naming the line.
"""

import collections

import numpy as np
import pytest
from strict_device import StrictArray, count_transfers

from minidl import backend, nn, optim
from minidl.models import ImdbClassifier
from minidl.models.resnet import ResNet
from minidl.train import evaluate, fit

B, T, V, STEPS = 4, 6, 30, 3


def _where(entry):
    """("minidl/train.py:161 in _forward") -> "minidl/train.py:_forward" (no line number)."""
    shape, where = entry
    path, func = where.split(" in ")
    return f"{path.rsplit(':', 1)[0]}:{func}"


def _tally(log, start, end):
    """The copies recorded between two snapshots, by direction and function."""
    h2d = collections.Counter(_where(e) for e in log.h2d[start[0]:end[0]])
    d2h = collections.Counter(_where(e) for e in log.d2h[start[1]:end[1]])
    return {"h2d": dict(h2d), "d2h": dict(d2h)}


def _train(model, batches, test_batches, clip_grad=None):
    """fit for one epoch on "strict"; returns the log and one snapshot per optimizer step."""
    opt = optim.Adam(model.parameters(), lr=1e-3)
    marks = []
    real_step = opt.step

    def step():  # the end of a training step: snapshot the counts
        marks.append((len(log.h2d), len(log.d2h)))
        real_step()

    opt.step = step
    with count_transfers() as log:
        fit(model, nn.CrossEntropyLoss(), opt, batches, test_batches, epochs=1, device="strict",
            clip_grad=clip_grad, log=None, progress=False)
    return log, marks


def _text_batches(rng, n):
    x = rng.integers(1, V, (n * B, T))
    y = rng.integers(0, 2, n * B)
    lengths = rng.integers(2, T + 1, n * B)
    return [(x[i * B:(i + 1) * B], y[i * B:(i + 1) * B], lengths[i * B:(i + 1) * B]) for i in range(n)]


TEXT_STEP = {
    "h2d": {"minidl/train.py:_forward": 1,  # the token ids
            "minidl/nn/loss.py:_target_like": 1,  # the labels, checked on the host first
            "minidl/functional/sequence.py:make_lengths": 1},  # the lengths, checked on the host first
    "d2h": {"minidl/functional/embedding.py:check_ids": 1,  # (min id, max id): the vocabulary check
            "minidl/train.py:_loss_and_predictions": 1},  # [loss, predicted classes]
}


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_report_b_model_copies_the_batch_in_once_and_reads_back_one_vector(cell):
    rng = np.random.default_rng(0)
    train, test = _text_batches(rng, STEPS), _text_batches(rng, 2)
    model = ImdbClassifier(vocab_size=V, embed_dim=5, hidden_size=4, cell=cell, fc_dim=4).to("strict")
    log, marks = _train(model, train, test)
    assert len(marks) == STEPS
    bounds = [(0, 0)] + marks
    for k in range(STEPS):
        assert _tally(log, bounds[k], bounds[k + 1]) == TEXT_STEP, f"step {k + 1}:\n{log.summary()}"
    # after the last step: the evaluation (the same copies per batch, nothing to learn) and
    # the divergence guard (one vector: is each parameter finite)
    rest = _tally(log, marks[-1], (len(log.h2d), len(log.d2h)))
    per_batch = {d: {k: 2 * v for k, v in c.items()} for d, c in TEXT_STEP.items()}
    per_batch["d2h"]["minidl/checkpoint.py:non_finite_names"] = 1
    assert rest == per_batch, log.summary()


def test_resnet_step_copies_images_and_labels_in_and_one_vector_out():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((STEPS * B, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, STEPS * B)
    batches = [(x[i * B:(i + 1) * B], y[i * B:(i + 1) * B]) for i in range(STEPS)]
    model = ResNet([1, 1], [2, 3], num_classes=3, in_channels=1).to("strict")
    log, marks = _train(model, batches, None, clip_grad=1.0)
    bounds = [(0, 0)] + marks
    for k in range(STEPS):
        step = _tally(log, bounds[k], bounds[k + 1])
        assert step == {"h2d": {"minidl/train.py:_forward": 1, "minidl/nn/loss.py:_target_like": 1},
                        "d2h": {"minidl/train.py:_loss_and_predictions": 1,
                                "minidl/optim.py:clip_grad_norm_": 1}}, f"step {k + 1}:\n{log.summary()}"
    rest = _tally(log, marks[-1], (len(log.h2d), len(log.d2h)))
    assert rest == {"h2d": {}, "d2h": {"minidl/checkpoint.py:non_finite_names": 1}}, log.summary()


@pytest.mark.parametrize("output, loss_fn", [("logits", nn.CrossEntropyLoss()), ("sigmoid", nn.BCELoss())])
def test_the_one_vector_holds_the_loss_and_the_predictions(output, loss_fn):
    """What the one copy carries equals the loss and the predictions computed on the host."""
    rng = np.random.default_rng(2)
    batches = _text_batches(rng, 2)
    kw = dict(vocab_size=V, embed_dim=5, hidden_size=4, cell="gru", fc_dim=4, output=output,
              num_classes=2 if output == "logits" else 1)
    host_model = ImdbClassifier(**kw).double().eval()
    dev_model = ImdbClassifier(**kw).double()
    dev_model.load_state_dict(host_model.state_dict())
    ev = evaluate(dev_model.to("strict"), loss_fn, batches)
    losses, preds = [], []
    for x, y, lengths in batches:
        out = host_model(x, lengths=lengths)
        losses.append(float(loss_fn(out, y if output == "logits" else y[:, None].astype(out.dtype))) * len(y))
        preds.append(out.argmax(axis=1) if output == "logits" else (out[:, 0] > 0.5).astype(np.int64))
    assert ev["loss"] == pytest.approx(sum(losses) / (2 * B), rel=1e-12)
    np.testing.assert_array_equal(ev["y_pred"], np.concatenate(preds))
    assert ev["acc"] == np.mean(np.concatenate(preds) == np.concatenate([y for _, y, _ in batches]))


def test_the_counter_sees_every_kind_of_copy():
    host = np.arange(6.0).reshape(2, 3)
    xp = backend.get_array_module(backend.to_device(host, "strict"))
    with count_transfers() as log:
        a = backend.to_device(host, "strict")  # h2d
        b = xp.asarray(host)  # h2d
        c = xp.asarray(a)  # on the device already: not a copy
        s = (a * b + c).sum()
        float(s), int(s), bool(s > 0), s.item()  # four d2h
        backend.asnumpy(a), a.get(), a.tolist()  # three d2h
        list(range(10))[a[0, 1].astype(np.int64)]  # __index__: one d2h
    assert isinstance(c, StrictArray)
    assert len(log.h2d) == 2 and len(log.d2h) == 8, log.summary()
    assert all(w.startswith("test_transfers.py:") for _, w in log.h2d + log.d2h), log.summary()

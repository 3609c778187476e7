"""The ResNet training step that ``conv.py``, ``conv_profile.py`` and ``conv_threads.py`` time.

One step = forward + cross-entropy + backward + Adam(1e-3), float32, on one batch of random
data of the CIFAR-10 shape (images (N, 3, 32, 32), labels in [0, 10)), model and batch drawn
from seed 0: every script times the same work.

NumPy is imported inside the functions, not at the top: a script calls
:func:`set_blas_threads` first, and BLAS reads its thread count once, when NumPy loads.
"""

from __future__ import annotations

import os

BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def set_blas_threads(threads: int, env: dict = os.environ) -> None:
    """Pin BLAS/OpenMP to ``threads`` threads in ``env`` (this process's, or a child's to be)."""
    for var in BLAS_THREAD_VARIABLES:
        env[var] = str(threads)


def random_batch(batch: int, seed: int = 0):
    """(x (batch, 3, 32, 32) float32 standard normal, y (batch,) int64 in [0, 10)), NumPy arrays."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, size=batch)
    return x, y


def training_step(model_name: str, batch: int):
    """Build ``model_name`` ("resnet20" or "resnet34", seed 0), its loss, Adam(1e-3) and the batch.

    Returns ``(model, loss_fn, opt, step)``; ``step()`` runs one training step on the batch and
    returns the loss as a Python float (on a GPU this waits for the step to finish). The
    objects are returned so that a script can wrap their methods (``conv_profile.py``): the
    step looks them up at each call.
    """
    import minidl
    from minidl.models.resnet import resnet20, resnet34
    from minidl.nn import CrossEntropyLoss
    from minidl.optim import Adam

    minidl.manual_seed(0)
    model = {"resnet20": resnet20, "resnet34": resnet34}[model_name]()
    loss_fn, opt = CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3)
    x, y = random_batch(batch)

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        model.backward(loss_fn.backward())
        opt.step()
        return float(loss)

    return model, loss_fn, opt, step

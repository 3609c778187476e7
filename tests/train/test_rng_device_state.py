"""A checkpoint saves every device generator's state (not only the host's), so a run resumed
on a GPU draws the very dropout masks it would have drawn. Exercised on the strict CuPy
stand-in (tests/strict_device.py), whose device generator is its own, apart from the host's."""

import numpy as np
from strict_device import strict_xp

import minidl
from minidl import backend, nn, optim
from minidl.data.batching import BatchLoader
from minidl.train import fit


def test_a_device_generator_state_goes_round_trip():
    backend.manual_seed(3)
    gen = backend.get_rng(strict_xp)
    gen.random(5)
    state = backend.get_rng_state()
    assert "strict" in state
    want = backend.asnumpy(gen.random(7))
    backend.manual_seed(99)  # a fresh process: another seed, generators rebuilt
    assert backend.set_rng_state(state) == []
    got = backend.asnumpy(backend.get_rng(strict_xp).random(7))
    np.testing.assert_array_equal(got, want)


def test_a_state_for_an_unknown_device_is_said_not_fatal():
    backend.manual_seed(0)
    backend.get_rng(strict_xp).random(2)
    state = backend.get_rng_state().replace('"strict"', '"elsewhere"')
    assert backend.set_rng_state(state) == ["elsewhere"]


def _run(folder, epochs, resume=False):
    minidl.manual_seed(0)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(48, 6)).astype(np.float32), rng.integers(0, 3, 48)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3)).to("strict")
    minidl.manual_seed(123 if resume else 0)  # a resumed process starts from another seed: the checkpoint decides
    loader = BatchLoader(x, y, batch_size=16, seed=0)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), loader, epochs=epochs,
        device="strict", checkpoint_dir=str(folder), resume=resume, log=None, progress=False)
    return {k: backend.asnumpy(v) for k, v in model.state_dict().items()}


def test_resume_on_the_device_draws_the_same_dropout_masks(tmp_path):
    full = _run(tmp_path / "a", epochs=3)
    _run(tmp_path / "b", epochs=2)
    resumed = _run(tmp_path / "b", epochs=3, resume=True)
    for name, value in full.items():
        np.testing.assert_array_equal(resumed[name], value, err_msg=name)


def test_a_curand_style_state_buffer_is_copied_and_restored():
    """CuPy's generators keep their cuRAND states in an int8 device array (``bit_generator._state``)
    and expose no state dict: the copy is of that buffer's bytes (a NumPy array stands in)."""
    class Bits:
        def __init__(self, n):
            self._state = np.arange(n, dtype=np.int8)

    class Gen:
        def __init__(self, n):
            self.bit_generator = Bits(n)

    gen = Gen(48)
    saved = backend._generator_state(gen)
    assert set(saved) == {"raw"}
    gen.bit_generator._state[:] = 0  # draws move the states on
    assert backend._set_generator_state(gen, saved)
    np.testing.assert_array_equal(gen.bit_generator._state, np.arange(48, dtype=np.int8))
    assert not backend._set_generator_state(Gen(96), saved)  # another GPU: another number of states

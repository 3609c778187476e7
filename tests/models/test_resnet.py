"""The CIFAR ResNets: float64 finite differences end to end (random direction), PyTorch parity
of a whole small net (outputs, every gradient, running statistics), state_dict names, sizes.
(BasicBlock alone: tests/nn/test_residual.py.)"""

import numpy as np
import pytest
from helpers import randomize_convnet

from minidl import backend
from minidl.errors import DTypeError, RangeError
from minidl.gradcheck import gradcheck
from minidl.models.resnet import (
    DEFAULT_WIDTHS,
    LAYOUTS,
    ResNet,
    cifar_resnet,
    conv_flops,
    plain20,
    plain34,
    resnet20,
    resnet34,
    stage_widths,
)


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _double(build):
    with backend.default_dtype(np.float64):
        return build()


@pytest.mark.parametrize("shortcut", [True, False])
def test_small_resnet_end_to_end_gradcheck(device, to_dev, shortcut):
    """The pieces compose: stem, two stages (one projection), pool, flatten, linear."""
    m = _double(lambda: ResNet([1, 1], [2, 3], num_classes=3, shortcut=shortcut, in_channels=1)).to(device)
    randomize_convnet(m)  # every ReLU passes some pixels: no tensor's gradient is zero on both sides
    r = gradcheck(m, to_dev(_x((2, 1, 5, 5))), mode="direction")
    assert r.ok, str(r)  # gradcheck refuses a tensor whose gradient is ~0 on both sides (not exercised)
    assert not r.unexercised and len(r.errors) == 1 + len(list(m.parameters()))


def _torch_resnet(torch, num_blocks, widths, num_classes, shortcut, in_channels):
    """The common PyTorch CIFAR ResNet, written out here as the reference."""
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(cout)
            self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(cout)
            self.use_skip = shortcut
            self.shortcut = tnn.Sequential()
            if shortcut and (stride != 1 or cin != cout):
                self.shortcut = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout))

        def forward(self, x):
            out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
            return torch.relu(out + self.shortcut(x) if self.use_skip else out)

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(widths[0])
            cin = widths[0]
            for k, (n, w) in enumerate(zip(num_blocks, widths)):
                blocks = []
                for b in range(n):
                    blocks.append(Block(cin, w, 2 if (k > 0 and b == 0) else 1))
                    cin = w
                setattr(self, f"layer{k + 1}", tnn.Sequential(*blocks))
            self.n = len(widths)
            self.linear = tnn.Linear(cin, num_classes)

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            for k in range(self.n):
                out = getattr(self, f"layer{k + 1}")(out)
            return self.linear(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(out, 1), 1))

    return Net()


@pytest.mark.parametrize("shortcut", [True, False])
def test_small_resnet_matches_pytorch_over_training_steps(device, to_dev, shortcut):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    cfg = ([2, 1], [3, 4], 5, shortcut, 2)
    tm = _torch_resnet(torch, *cfg).double()
    m = _double(lambda: ResNet(*cfg[:2], num_classes=cfg[2], shortcut=shortcut, in_channels=cfg[4]))
    assert sorted(m.state_dict()) == sorted(tm.state_dict())
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    m.to(device)
    for step in range(2):
        x = _x((3, 2, 6, 6), step)
        tx = torch.tensor(x, requires_grad=True)
        ty = tm(tx)
        y = m(to_dev(x))
        np.testing.assert_allclose(backend.asnumpy(y), ty.detach().numpy(), rtol=1e-9, atol=1e-11)
        dy = _x(y.shape, 10 + step)
        ty.backward(torch.tensor(dy))
        dx = m.backward(to_dev(dy))
        np.testing.assert_allclose(backend.asnumpy(dx), tx.grad.numpy(), rtol=1e-8, atol=1e-11)
    grads = dict(m.named_parameters())
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(backend.asnumpy(grads[name].grad), p.grad.numpy(), rtol=1e-8, atol=1e-11,
                                   err_msg=name)
    sd = m.state_dict()
    for name, value in tm.state_dict().items():
        np.testing.assert_allclose(backend.asnumpy(sd[name]), value.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
    m.eval()
    tm.eval()
    x = _x((2, 2, 6, 6), 50)
    np.testing.assert_allclose(backend.asnumpy(m(to_dev(x))), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-9, atol=1e-11)


def test_cifar_models_shapes_names_and_sizes():
    counts = {f.__name__: sum(p.data.size for p in f().parameters()) for f in (resnet20, plain20, resnet34, plain34)}
    assert counts == {"resnet20": 272474, "plain20": 269722, "resnet34": 21282122, "plain34": 21108298}
    m = resnet20()
    keys = list(m.state_dict())
    assert keys[:3] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    assert "layer2.0.shortcut.0.weight" in keys and "layer2.0.shortcut.1.running_var" in keys
    assert {"linear.weight", "linear.bias", "layer3.2.bn2.num_batches_tracked"} <= set(keys)
    assert "shortcut" not in " ".join(plain20().state_dict())
    text = repr(m)
    assert "(layer3): Sequential(" in text and "(shortcut): Sequential(" in text and "(linear): Linear(" in text
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    with_grad = m(x)
    assert with_grad.shape == (2, 10) and with_grad.dtype == np.float32
    dx = m.backward(np.ones((2, 10), np.float32))
    assert dx.shape == x.shape and dx.dtype == np.float32


def test_resnet34_state_dict_matches_pytorch_names():
    torch = pytest.importorskip("torch")
    tm = _torch_resnet(torch, [3, 4, 6, 3], [64, 128, 256, 512], 10, True, 3)
    tsd = tm.state_dict()
    m = resnet34()
    assert sorted(m.state_dict()) == sorted(tsd)
    m.load_state_dict({k: v.numpy() for k, v in tsd.items()})
    np.testing.assert_array_equal(m.layer4[2].conv2.weight.data, tsd["layer4.2.conv2.weight"].numpy())


def _mutated_method(cls, name, old, new):
    """``cls.name`` recompiled from its source with ``old`` replaced by ``new`` (a mutant)."""
    import inspect
    import textwrap

    source = textwrap.dedent(inspect.getsource(getattr(cls, name)))
    assert source.count(old) == 1, f"{old!r} not found once in {cls.__name__}.{name}"
    namespace = dict(vars(inspect.getmodule(cls)))
    exec(compile(source.replace(old, new), f"<mutant of {cls.__name__}.{name}>", "exec"), namespace)
    return namespace[name]


@pytest.mark.parametrize("shortcut_kind", ["identity", "projection"])
def test_whole_model_check_catches_a_dropped_shortcut_gradient(monkeypatch, shortcut_kind):
    """The mutant that once passed this file's end-to-end check: BasicBlock.backward forgets
    the skip branch's gradient. The finite-difference check of the whole net alone (no
    PyTorch) must fail, and must name tensors before the block."""
    from minidl.nn.residual import BasicBlock

    widths = [2, 2] if shortcut_kind == "identity" else [2, 3]
    m = _double(lambda: ResNet([1, 1], widths, num_classes=3, in_channels=1))
    randomize_convnet(m)
    x = _x((2, 1, 5, 5))
    assert gradcheck(m, x, mode="direction").ok
    monkeypatch.setattr(BasicBlock, "backward",
                        _mutated_method(BasicBlock, "backward", "d_main += d_skip", "pass"))
    r = gradcheck(m, x, mode="direction")
    assert not r.ok and not r.unexercised, str(r)
    assert r.used["input 0"] > 1 and r.used["conv1.weight"] > 1, str(r)


# ----------------------------------------------------------------------------- width and cost
def _multiply_adds(depth, w, shortcut):
    """Report E's layout counted by hand: the 3×3 stem at 32×32, per stage k (width w·2^k at
    32/2^k) two 3×3 convs per block, a 1×1 projection where a shortcut changes shape, the Linear."""
    blocks, total, cin = LAYOUTS[depth], 32 * 32 * w * 3 * 9, w
    for k, n in enumerate(blocks):
        c, r = w * 2 ** k, 32 // 2 ** k
        total += r * r * c * cin * 9 + r * r * c * c * 9 + (r * r * c * cin if shortcut and k > 0 else 0)
        total += (n - 1) * 2 * r * r * c * c * 9
        cin = c
    return total + 10 * cin


@pytest.mark.parametrize("depth,width,shortcut", [(34, 2, True), (34, 3, False), (20, 2, True), (20, 4, False)])
def test_width_sets_every_stage_and_conv_flops_counts_the_layout(depth, width, shortcut):
    m = cifar_resnet(depth, width, shortcut)
    widths = [w * width for w in (1, 2, 4, 8)][: len(LAYOUTS[depth])]
    assert stage_widths(depth, width) == widths
    assert [len(stage) for stage in m._stages()] == list(LAYOUTS[depth])
    for k, stage in enumerate(m._stages()):
        assert stage[0].conv1.stride == ((2, 2) if k else (1, 1))  # stages 2-4 halve the resolution
        assert {b.conv2.out_channels for b in stage} == {widths[k]}
    assert m.conv1.kernel_size == (3, 3) and m.conv1.stride == (1, 1) and m.linear.in_features == widths[-1]
    assert not any(type(x).__name__.startswith("MaxPool") for x in m.modules())
    assert conv_flops(m) == _multiply_adds(depth, width, shortcut)
    assert m(np.zeros((2, 3, 32, 32), np.float32)).shape == (2, 10)


def test_the_documented_defaults_and_costs():
    assert DEFAULT_WIDTHS == {20: 16, 34: 64} and stage_widths(34) == [64, 128, 256, 512]
    assert stage_widths(20) == [16, 32, 64] and stage_widths(34, 16) == [16, 32, 64, 128]
    sizes = {f.__name__: sum(p.data.size for p in f(width=16).parameters()) for f in (resnet34, plain34)}
    assert sizes == {"resnet34": 1334618, "plain34": 1323418}
    assert conv_flops(resnet20()) == _multiply_adds(20, 16, True) == 40813184  # the docstring's 40.8 M
    # report E's width and the CPU width, by the count conv_flops is checked against above
    assert _multiply_adds(34, 64, True) == 1159402496 and _multiply_adds(34, 16, True) == 72795392
    assert _multiply_adds(34, 64, False) == 1153111040 and _multiply_adds(34, 16, False) == 72402176
    m = resnet20()
    m.train()
    conv_flops(m)
    assert m.training and all(not x._caches for x in m.modules())  # the count leaves no trace
    assert "forward" not in vars(m.conv1)


@pytest.mark.parametrize("depth,width,error,match", [
    (50, None, RangeError, r"depth must be one of \(20, 34\), got 50"),
    (18, 16, RangeError, "depth"),
    (34, 0, RangeError, r"width must be a finite number in \[1, inf\), got 0"),
    (34, -1, RangeError, "width"),
    (20, 2.5, DTypeError, "width must be an integer"),
    (20, True, DTypeError, "width"),
])
def test_a_bad_depth_or_width_is_refused_naming_it(depth, width, error, match):
    with pytest.raises(error, match=match):
        cifar_resnet(depth, width)

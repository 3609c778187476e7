"""Figures of the course text that come from small runs of minidl itself (not from the
examples' training runs, which make their own PNGs).

    python docs/tools/make_figures.py        # writes docs/assets/figures/*.png (a few seconds)

vanishing.png: the gradient norm ||dL/dx_t|| against the number of steps back from the end
of a 60-step sequence, for a tanh RNN whose recurrent matrix is s·Q (Q orthogonal, zero
biases, small inputs) and for an LSTM with forget-gate bias 0 and 3; only h_n feeds the
loss. The same set-up as the code in docs/vanishing-exploding.md.
"""

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import minidl  # noqa: E402
from minidl import nn  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[1] / "assets" / "figures"


def vanishing(path: pathlib.Path) -> None:
    T, B, D, H = 60, 8, 16, 32
    rng = np.random.default_rng(0)
    x = 0.01 * rng.standard_normal((T, B, D))
    G = rng.standard_normal((1, B, H))  # the gradient of h_n: (num_layers, B, H)
    Q, _ = np.linalg.qr(rng.standard_normal((H, H)))

    def grad_norms(layer):
        layer(x)
        dx = layer.backward(None, G)[0]
        return np.linalg.norm(dx.reshape(T, -1), axis=1)[::-1]  # index k = k steps back

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for s in [0.5, 0.9, 1.0, 1.1, 1.5]:
        minidl.manual_seed(0)
        rnn = nn.RNN(D, H).double()
        rnn.weight_hh_l0.data[...] = s * Q
        rnn.bias_ih_l0.data[...] = rnn.bias_hh_l0.data[...] = 0
        ax.semilogy(grad_norms(rnn), label=f"RNN, $W_{{hh}} = {s}\\,Q$")
    for fb, style in [(0.0, "k--"), (3.0, "k-")]:
        minidl.manual_seed(0)
        lstm = nn.LSTM(D, H).double()
        lstm.bias_ih_l0.data[H : 2 * H] = 0
        lstm.bias_hh_l0.data[H : 2 * H] = fb
        ax.semilogy(grad_norms(lstm), style, label=f"LSTM, forget bias {fb:g}")
    ax.set_xlabel("steps back from the end of the sequence")
    ax.set_ylabel(r"$\|\partial L / \partial x_t\|$")
    ax.set_title("Gradient reaching each input (T = 60, loss on $h_n$ only)")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    vanishing(OUT / "vanishing.png")
    print(f"wrote {OUT / 'vanishing.png'}")

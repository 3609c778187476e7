"""Time a training step of the reports' recurrent models in minidl and in PyTorch, same run.

    python benchmarks/rnn.py                 # the full table (several minutes on 2 cores)
    python benchmarks/rnn.py --quick         # a smoke test: short sequences, 3 steps
    python benchmarks/rnn.py --steps 50 --only B-lstm,B-gru --threads 2

Cases (float32, CPU):

* ``B-{lstm,gru,rnn}``: report B's classifier — Embedding(20001, 64, padding_idx=0) →
  {LSTM, GRU, RNN}(64, 64) → last state → Linear(64, 64) → ReLU → Dropout(0.5) →
  Linear(64, 2), cross-entropy, Adam(1e-3); batch 64 × 300 tokens.
* ``E-lstm1``, ``E-bilstm2``: report E — Embedding(20000, 200) → LSTM(200, 256), one layer,
  or two bidirectional layers with dropout 0.5 between them → Dropout(0.5) → Linear(·, 2);
  batch 64 × 300 tokens.
  The ids are uniformly random by default; ``--ids reviews`` takes the last 300 tokens of
  64 random IMDB training reviews at least that long (``MINIDL_DATA``): real text repeats
  its words, and minidl's first recurrent layer projects each distinct word once
  (:mod:`minidl.functional.distinct_rows`), so only real reviews show that path's cost.
* ``C-charrnn``: report C's classic char-RNN (i2h, i2o on [x, h], LogSoftmax), one name of
  7 letters per step (batch 1), NLL loss, plain SGD as in the tutorial.

A step is forward + loss + backward + optimizer update. Each library runs in a process of its
own, as in its training loop (``--rounds`` alternates the two processes, so that outside load
hits both); the table gives the median ms per step over all rounds, tokens per second and the
ratio minidl / PyTorch (below 1: minidl is faster). ``--same-process`` runs both in one
process, one step of each in turn, as this script did until 2026-12-06: there a minidl step of
report E's bidirectional LSTM took about 1 s more kernel time after a PyTorch step (its ~800 MB
of fresh arrays are faulted in as huge pages, which cost four times as much after PyTorch's
~470,000 small-page faults than after minidl's own step; ``benchmarks/README.md``, "One
process or two"), a cost no training loop pays. Both start from the same weights
(PyTorch's, loaded with ``load_state_dict``) and the script checks that their eval-mode
outputs agree before timing. ``--threads`` sets the BLAS / PyTorch thread count (default 1:
on a shared machine a multi-threaded BLAS stalls on small GEMMs). Peak memory: the largest
NumPy allocation total during one minidl step (``tracemalloc``), and each library's
process's maximum RSS. ``--allocator`` (default ``kept``) makes both libraries' processes keep
freed memory for the next step, as minidl's command line does (:mod:`minidl.host_memory`);
``--allocator default`` leaves glibc's settings, as a PyTorch user's script runs.
``--torch-onednn off`` times PyTorch with oneDNN disabled: its LSTM then runs op by op, as
minidl's does, instead of as one fused oneDNN primitive (``benchmarks/torch_kernels.py``).

The weights are freshly initialised. On a CPU that is slow on subnormal numbers this is the
worst moment for PyTorch as installed (it does not flush them): report B's gradient then
fades through the subnormal range over a review, and stops doing so a fifth of the way into
the first epoch. ``--torch-flush-denormal on`` gives the step a run pays from there on;
``benchmarks/trained_step.py`` times both along a training run.

Where an LSTM step's time goes: ``--lstm-elementwise timed`` prints the milliseconds per step of
each part of minidl's per-step elementwise work (the gates, their local derivatives, the gates'
backward, the subnormal flush); ``--lstm-elementwise free`` times the step with all of it
removed (a bound: its numbers are wrong), which is what the step would cost if that work were
free, the GEMMs and everything around the layer left as they are.

With numba installed (``pip install -e ".[jit]"``) minidl's LSTM runs its per-step elementwise
work as compiled loops (``minidl/functional/lstm_loops.py``, the same numbers); the header says
which. ``MINIDL_COMPILED_LOOPS=0 python benchmarks/rnn.py ...`` times the ufunc calls instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from allocator import add_allocator_flag, apply_allocator  # the script's folder; imports no NumPy
from torch_kernels import (  # imports no torch
    add_torch_flags,
    apply_torch_flags,
    describe,
    flush_denormal_state,
    numpy_flushes_subnormals,
    onednn_state,
)


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=20, help="timed steps per case (after warm-up)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="60 tokens, 3 steps, 1 warm-up: a smoke test")
    p.add_argument("--seq-len", type=int, default=300)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--ids", choices=["uniform", "reviews"], default="uniform",
                   help="the token ids of the classifiers' batch: uniformly random (default), or the last "
                        "--seq-len tokens of --batch random IMDB training reviews at least that long "
                        "(needs MINIDL_DATA): text repeats words, which minidl's input projection uses")
    p.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads")
    p.add_argument("--only", default="", help="comma-separated case names (default: all)")
    p.add_argument("--no-torch", action="store_true", help="time minidl alone")
    p.add_argument("--rounds", type=int, default=2,
                   help="processes per library, alternating minidl and PyTorch (steps are timed in each)")
    p.add_argument("--same-process", action="store_true",
                   help="both libraries in this process, one step of each in turn (the method before 2026-12-06)")
    p.add_argument("--lstm-elementwise", choices=["kept", "timed", "no-flush", "free"], default="kept",
                   help="the per-step elementwise work of minidl's LSTM (gates, their local derivatives and "
                        "backward, the subnormal flush): 'timed' runs it with a timer around each part and "
                        "prints their ms per step; 'free' (a bound, not a result: the numbers are then wrong) "
                        "removes it, leaving the GEMMs and everything around the layer, so the time says what "
                        "the step would cost if that work were free; 'no-flush' removes the flush alone. "
                        "LSTM cases only")
    add_allocator_flag(p)
    add_torch_flags(p)
    p.add_argument("--worker", choices=["minidl", "torch"], help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.same_process and args.torch_flush_denormal == "on":
        p.error("--torch-flush-denormal on needs PyTorch in processes of its own (not --same-process): "
                "the flush-to-zero mode is the core's, and would flush minidl's numbers too")
    if args.same_process and args.lstm_elementwise != "kept":  # it patches minidl's functions
        p.error("--lstm-elementwise needs minidl in processes of its own (not --same-process)")
    if args.quick:
        args.steps, args.warmup, args.seq_len, args.rounds = 3, 1, 60, 1
    return args


ARGS = _parse()
# BLAS reads its thread count when it loads: set it before NumPy is imported
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # torch_twins
import minidl  # noqa: E402
from minidl.models.char_rnn import CharRNN  # noqa: E402
from minidl.models.imdb import ImdbClassifier  # noqa: E402
from minidl.nn import CrossEntropyLoss, NLLLoss  # noqa: E402
from minidl.optim import Adam  # noqa: E402

try:
    if ARGS.no_torch:
        raise ImportError
    import torch

    torch.set_num_threads(ARGS.threads)
    apply_torch_flags(ARGS, torch, flush=ARGS.worker == "torch")  # never where minidl is timed
except ImportError:
    torch = None


# ----------------------------------------------------------------------------- cases
CASES = {
    # name: (vocab, embed, hidden, cell, layers, bidirectional, rnn_dropout, fc_dim)
    "B-lstm": (20001, 64, 64, "lstm", 1, False, 0.0, 64),
    "B-gru": (20001, 64, 64, "gru", 1, False, 0.0, 64),
    "B-rnn": (20001, 64, 64, "rnn", 1, False, 0.0, 64),
    "E-lstm1": (20000, 200, 256, "lstm", 1, False, 0.0, None),
    "E-bilstm2": (20000, 200, 256, "lstm", 2, True, 0.5, None),
}


def torch_classifier(vocab, embed, hidden, cell, layers, bi, rnn_dropout, fc_dim):
    """The same model in PyTorch, with ImdbClassifier's parameter names (the twins' class);
    fed no lengths: the benchmark's reviews all run to T."""
    from torch_twins import TorchImdb

    return TorchImdb(vocab, embed, hidden, cell, layers, bi, rnn_dropout, fc_dim, dropout=0.5)


def review_ids(vocab, B, T, rng):
    """(B, T) ids: the last T tokens of B random IMDB training reviews of at least T tokens
    (``MINIDL_DATA``), in a vocabulary of ``vocab`` ids, as the examples load them."""
    from minidl.data.imdb import load_imdb

    train = load_imdb(None, vocab_size=vocab, max_len=T, truncate="pre", seed=0).train
    full = np.flatnonzero(train.lengths >= T)
    if len(full) < B:
        raise SystemExit(f"--ids reviews: only {len(full)} training reviews have {T} tokens, need {B}")
    return train.ids[rng.choice(full, size=B, replace=False), :T].astype(np.int64)


def classifier_steps(name, B, T):
    vocab, embed, hidden, cell, layers, bi, rnn_dropout, fc_dim = CASES[name]
    rng = np.random.default_rng(0)
    ids = review_ids(vocab, B, T, rng) if ARGS.ids == "reviews" else rng.integers(1, vocab, size=(B, T))
    labels = rng.integers(0, 2, size=B)
    ours = ImdbClassifier(vocab, embed, hidden, cell, num_layers=layers, bidirectional=bi,
                          rnn_dropout=rnn_dropout, dropout=0.5, fc_dim=fc_dim)
    loss_fn = CrossEntropyLoss()
    theirs = None
    if torch is not None:
        theirs = torch_classifier(vocab, embed, hidden, cell, layers, bi, rnn_dropout, fc_dim)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        # same weights, same numbers (eval mode: no dropout)
        ours.eval()
        theirs.eval()
        with minidl.no_grad(), torch.no_grad():
            diff = np.abs(ours(ids[:4, :50]) - theirs(torch.tensor(ids[:4, :50])).numpy()).max()
        print(f"  {name}: max |minidl − PyTorch| of eval logits = {diff:.2e} "
              f"(PyTorch's oneDNN {onednn_state(torch)})", flush=True)
        ours.train()
        theirs.train()
    opt = Adam(ours.parameters(), lr=1e-3)

    def ours_step():
        opt.zero_grad()
        loss = loss_fn(ours(ids), labels)
        ours.backward(loss_fn.backward())
        opt.step()
        return float(loss)

    theirs_step = None
    if theirs is not None:
        t_opt = torch.optim.Adam(theirs.parameters(), lr=1e-3)
        t_ids, t_labels = torch.tensor(ids), torch.tensor(labels)
        t_loss = torch.nn.CrossEntropyLoss()

        def theirs_step():
            t_opt.zero_grad()
            loss = t_loss(theirs(t_ids), t_labels)
            loss.backward()
            t_opt.step()
            return loss.item()

    return ours_step, theirs_step, B * T


def charrnn_steps(T=7):
    I, H, O = 57, 128, 18
    rng = np.random.default_rng(0)
    letters = np.zeros((T, 1, I), np.float32)
    letters[np.arange(T), 0, rng.integers(0, I, T)] = 1.0
    label = np.array([3])
    lr = 0.005
    ours = CharRNN(I, H, O)
    nll = NLLLoss()

    def ours_step():
        log_probs, _ = ours.forward_sequence(letters)
        loss = nll(log_probs, label)
        ours.backward_sequence(nll.backward())
        for p in ours.parameters():  # the tutorial's update: p −= lr · grad
            p.data -= lr * p.grad
            p.zero_grad()
        return float(loss)

    theirs_step = None
    if torch is not None:
        nn = torch.nn

        class TutorialRNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.i2h = nn.Linear(I + H, H)
                self.i2o = nn.Linear(I + H, O)
                self.softmax = nn.LogSoftmax(dim=1)

            def forward(self, x, h):
                combined = torch.cat((x, h), 1)
                return self.softmax(self.i2o(combined)), self.i2h(combined)

        theirs = TutorialRNN()
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        t_letters, t_label = torch.tensor(letters), torch.tensor(label)
        t_nll = nn.NLLLoss()

        def theirs_step():
            h = torch.zeros(1, H)
            theirs.zero_grad()
            for t in range(T):
                out, h = theirs(t_letters[t], h)
            loss = t_nll(out, t_label)
            loss.backward()
            for p in theirs.parameters():
                p.data.add_(p.grad, alpha=-lr)
            return loss.item()

    return ours_step, theirs_step, T


# ----------------------------------------------------------------------------- timing
def _case(name):
    """(ours_step, theirs_step, tokens per step, timed steps, warm-up steps, steps per measurement)."""
    minidl.manual_seed(0)
    if torch is not None:
        torch.manual_seed(0)
    if name == "C-charrnn":
        ours_step, theirs_step, tokens = charrnn_steps()
        # one name takes about a millisecond: time blocks of 50 names, 2x as many blocks as steps
        return ours_step, theirs_step, tokens, max(ARGS.steps * 2, 10), max(ARGS.warmup, 50), 50
    ours_step, theirs_step, tokens = classifier_steps(name, ARGS.batch, ARGS.seq_len)
    return ours_step, theirs_step, tokens, ARGS.steps, ARGS.warmup, 1


def _timed(step, block, kernel):
    """Seconds per step over ``block`` steps; appends this measurement's page faults and kernel
    (system) seconds per step to the list ``kernel``: the cost of fresh memory."""
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    for _ in range(block):
        step()
    seconds = (time.perf_counter() - t0) / block
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    kernel.append(((r1.ru_minflt - r0.ru_minflt) / block, (r1.ru_stime - r0.ru_stime) / block))
    return seconds


def _kernel_note(kernel) -> str:
    """Median page faults and kernel ms per step of a list of :func:`_timed` measurements."""
    if not kernel:
        return ""
    faults = statistics.median(k[0] for k in kernel)
    return f" | page faults {faults:,.0f}, kernel {statistics.median(k[1] for k in kernel) * 1e3:.1f} ms per step"


def _peak_bytes(step):
    """The largest total of NumPy allocations alive during one step (tracemalloc)."""
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def time_case(ours_step, theirs_step, steps, warmup, block=1):
    """``--same-process``: seconds per step of each library, both in this process. Each
    measurement runs ``block`` consecutive steps of one library, then the other's:
    alternating, so that a burst of outside load hits both; in blocks for sub-millisecond
    steps, which a training loop also runs back to back (one step of each in turn would time
    each library with the other's data and code in the CPU caches, and the timer's own cost)."""
    for _ in range(warmup):
        ours_step()
        if theirs_step:
            theirs_step()
    a, b, ka, kb = [], [], [], []
    for _ in range(steps):
        a.append(_timed(ours_step, block, ka))
        if theirs_step:
            b.append(_timed(theirs_step, block, kb))
    print(f"#   minidl{_kernel_note(ka)}" + (f"; PyTorch{_kernel_note(kb)}" if kb else ""), flush=True)
    return a, b, _peak_bytes(ours_step)


def remove_lstm_elementwise(what):
    """``--lstm-elementwise``: replace the LSTM's per-step elementwise functions with ones that do
    nothing ('free'), or the reverse loop's subnormal flush alone ('no-flush'). The GEMMs and the
    loops around them run as before. 'free' keeps every number they read normal, since a GEMM
    over subnormals is many times slower: the states are one buffer of ½ made once (the loop no
    longer writes them, and a fresh buffer holds whatever memory held), and the saved
    pre-activations stand in for the gates and for ∂L/∂z. The time is then that of the step
    without that work; 'no-flush' shows what the subnormals the flush removes would cost."""
    from minidl.functional import lstm, lstm_loops, sequence

    def nothing(*args):
        return None

    sequence.subnormal_flush = nothing  # backward_through_time then flushes nothing
    if what == "free":
        for module in (lstm, lstm_loops):  # the ufunc calls and their compiled loops
            module.lstm_gates = module.lstm_local_grads = module.lstm_gates_backward = nothing
        states = {}

        def state_buffer(T, s0):
            key = (T + 1,) + s0.shape + (s0.dtype.str,)
            if key not in states:
                states[key] = np.full(key[:-1], 0.5, dtype=s0.dtype)
            states[key][0] = s0
            return states[key]

        sequence.state_buffer = state_buffer


def time_lstm_elementwise():
    """``--lstm-elementwise timed``: put a timer around each part of the LSTM's per-step
    elementwise work; returns the dict of seconds per part that the timers add to (a timer
    costs a fraction of a microsecond a call, against several microseconds per part)."""
    from minidl.functional import lstm, lstm_loops, sequence

    seconds = {}

    def timed(key, func):
        seconds.setdefault(key, 0.0)

        def run(*args):
            t0 = time.perf_counter()
            result = func(*args)
            seconds[key] += time.perf_counter() - t0
            return result

        return run

    for key, name in (("gates", "lstm_gates"), ("local derivatives", "lstm_local_grads"),
                      ("gates backward", "lstm_gates_backward")):
        for module in (lstm, lstm_loops):  # the ufunc calls and their compiled loops
            setattr(module, name, timed(key, getattr(module, name)))
    make_flush = sequence.subnormal_flush

    def subnormal_flush(like):
        flush = make_flush(like)
        return None if flush is None else timed("subnormal flush", flush)

    sequence.subnormal_flush = subnormal_flush
    return seconds


def worker(name, library):
    """One library's steps of one case, alone in this process; prints a JSON line last."""
    ours_step, theirs_step, tokens, steps, warmup, block = _case(name)
    parts = None
    if library == "minidl" and name in CASES and CASES[name][3] == "lstm":  # the LSTM cases only
        if ARGS.lstm_elementwise in ("free", "no-flush"):
            remove_lstm_elementwise(ARGS.lstm_elementwise)  # after the weights check of _case
        elif ARGS.lstm_elementwise == "timed":
            parts = time_lstm_elementwise()
    step = ours_step if library == "minidl" else theirs_step
    if library == "minidl" and numpy_flushes_subnormals():  # checked before anything is timed
        raise SystemExit("the minidl worker's core flushes subnormals: minidl's own flush is not what is timed")
    for _ in range(warmup):
        step()
    if parts is not None:
        parts.update(dict.fromkeys(parts, 0.0))  # the timed steps only
    kernel = []
    times = [_timed(step, block, kernel) for _ in range(steps)]
    if parts is not None:
        print(f"#   {name} minidl, LSTM elementwise work per step (timers around each part): "
              + ", ".join(f"{k} {v / (steps * block) * 1e3:.2f} ms" for k, v in parts.items())
              + f"; together {sum(parts.values()) / (steps * block) * 1e3:.2f} ms", flush=True)
    peak = _peak_bytes(step) if library == "minidl" else None
    if library == "torch":
        print(f"#   {name} PyTorch worker: oneDNN {onednn_state(torch)}, flush-denormal {flush_denormal_state(torch)}"
              " (read back)", flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"times": times, "kernel": kernel, "peak": peak, "rss": rss, "tokens": tokens}), flush=True)


def run_worker(name, library):
    """The JSON of :func:`worker` in a child process (the same options), None if PyTorch is absent;
    the child's other lines (the weights check) are passed on."""
    argv = [a for a in sys.argv[1:] if a != "--same-process"] + ["--worker", library, "--only", name]
    out = subprocess.run([sys.executable, os.path.abspath(__file__)] + argv, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{library} {name} failed:\n{out.stderr}")
    lines = out.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    for line in lines[:-1]:
        print(line, flush=True)
    if library == "torch" and not result["times"]:
        return None
    return result


def time_in_processes(name):
    """Each library's steps in processes of its own, ``--rounds`` of each, alternating."""
    a, b, peak, rss = [], [], 0, {"minidl": 0, "torch": 0}
    tokens = None
    for r in range(ARGS.rounds):
        for library in ("minidl",) if torch is None else ("minidl", "torch"):
            res = run_worker(name, library)
            if res is None:
                continue
            (a if library == "minidl" else b).extend(res["times"])
            tokens, rss[library] = res["tokens"], max(rss[library], res["rss"])
            peak = max(peak, res["peak"] or 0)
            print(f"#   {name} {library}, process {r + 1}: " + " ".join(f"{t * 1e3:.2f}" for t in res["times"])
                  + " ms" + _kernel_note(res["kernel"]), flush=True)
    return a, b, peak, tokens, rss


def main():
    apply_allocator(ARGS.allocator)  # this process (and, through the same flag, each worker)
    if ARGS.worker:
        if ARGS.worker == "torch" and torch is None:
            print(json.dumps({"times": [], "kernel": [], "peak": None, "rss": 0, "tokens": 0}))
            return
        return worker(ARGS.only, ARGS.worker)
    names = [n for n in list(CASES) + ["C-charrnn"] if not ARGS.only or n in ARGS.only.split(",")]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    how = "both in one process, steps alternating" if ARGS.same_process else \
        f"each library in its own processes, {ARGS.rounds} round(s) alternating"
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu}, {os.cpu_count()} cores; "
          f"numpy {np.__version__}, torch {torch.__version__ if torch else 'absent'}; threads {ARGS.threads}; "
          f"batch {ARGS.batch} x {ARGS.seq_len} tokens ({'IMDB reviews' if ARGS.ids == 'reviews' else 'random ids'}); "
          f"{ARGS.steps} timed steps after {ARGS.warmup} warm-up; "
          f"{how}; allocator {ARGS.allocator}; {describe(ARGS)}; "
          f"minidl's compiled loops: {minidl.backend.compiled_loops_status()}"
          + ("" if ARGS.lstm_elementwise == "kept" else f"; minidl's LSTM elementwise work: {ARGS.lstm_elementwise}"
             + (" (a bound: wrong numbers)" if ARGS.lstm_elementwise in ("free", "no-flush") else "")), flush=True)
    rows = []
    for name in names:
        if ARGS.same_process:
            ours_step, theirs_step, tokens, steps, warmup, block = _case(name)
            a, b, peak = time_case(ours_step, theirs_step, steps, warmup, block)
            rss = None
        else:
            a, b, peak, tokens, rss = time_in_processes(name)
        t_ours, t_theirs = statistics.median(a), (statistics.median(b) if b else None)
        rows.append((name, t_ours, t_theirs, tokens, peak))
        ratio = f"{t_ours / t_theirs:.2f}" if t_theirs else "-"
        print(f"  {name}: minidl {t_ours * 1e3:.2f} ms, PyTorch "
              f"{t_theirs * 1e3 if t_theirs else float('nan'):.2f} ms, ratio {ratio}"
              + (f"; max RSS minidl {rss['minidl'] / 2**20:.0f} MB, PyTorch {rss['torch'] / 2**20:.0f} MB"
                 if rss else ""), flush=True)
    print()
    print("| case | minidl ms/step | PyTorch ms/step | minidl / PyTorch | minidl tokens/s | PyTorch tokens/s "
          "| minidl peak MB/step |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, t_ours, t_theirs, tokens, peak in rows:
        tt = f"{t_theirs * 1e3:.2f}" if t_theirs else "-"
        ratio = f"{t_ours / t_theirs:.2f}" if t_theirs else "-"
        tps = f"{tokens / t_theirs:,.0f}" if t_theirs else "-"
        print(f"| {name} | {t_ours * 1e3:.2f} | {tt} | {ratio} | {tokens / t_ours:,.0f} | {tps} | {peak / 2**20:.1f} |")
    if ARGS.same_process:
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\nprocess max RSS {maxrss:.0f} MB (minidl and PyTorch together)")
    if torch is not None and ARGS.torch_flush_denormal == "off" and any(n[:2] in ("B-", "E-") for n in names):
        print("\n(freshly initialised weights: PyTorch's unflushed subnormals cost most here; from a fifth of "
              "an epoch on a run pays what --torch-flush-denormal on shows: benchmarks/trained_step.py)")


if __name__ == "__main__":
    main()

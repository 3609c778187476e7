#!/usr/bin/env bash
# The GPU check, one command, at most 8 minutes on one GPU (H100/H200 class):
#
#   1. names the GPU (nvidia-smi) and picks the CuPy extra from its CUDA version;
#   2. installs that extra unless CuPy already works (pip install -e ".[cuda12]" or ".[cuda13]");
#   3. runs the CUDA test subset: every test that takes the `device` fixture (the float64
#      gradient checks and the PyTorch parity tests) on real CuPy arrays,
#      pytest --device cuda -m on_device -x, within a time budget;
#   4. times minidl against PyTorch on the same GPU and prints one table
#      (benchmarks/gpu.py: report B's LSTM and GRU step, report E's BiLSTM-2 step, an epoch
#      of ResNet-34 on CIFAR-10 estimated from timed steps).
#
#   bash benchmarks/gpu_check.sh                 # on the GPU machine
#   bash benchmarks/gpu_check.sh --dry-run       # anywhere: no GPU, no install, no CUDA tests;
#                                                # step 4's code on NumPy and the CPU, tiny sizes
#
# Environment: PYTHON (default python), TEST_BUDGET (seconds for step 3, default 240),
# BENCH_BUDGET (seconds after which gpu.py starts no new case, default 150), WHEELHOUSE (a
# folder of wheels, for a machine without network: pip installs from there only),
# GPU_CHECK_LOG (the folder for the test log and the table as JSON; default $TMPDIR/minidl_gpu_check, the system temporary folder when TMPDIR is unset).
# Extra arguments go to benchmarks/gpu.py (e.g. --only B-lstm,R34-epoch).
# Exit status: 0 when the tests passed and every timed case matched PyTorch's numbers.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python}
TEST_BUDGET=${TEST_BUDGET:-240}
BENCH_BUDGET=${BENCH_BUDGET:-150}
LOG=${GPU_CHECK_LOG:-${TMPDIR:-/tmp}/minidl_gpu_check}
say() { echo "gpu_check: $*"; }

if [[ "${1:-}" == "--dry-run" ]]; then
    shift
    say "dry run: no GPU, no install, no CUDA tests; the timing script on NumPy and the CPU at tiny sizes"
    exec "$PY" benchmarks/gpu.py --dry-run "$@"
fi

start=$SECONDS
mkdir -p "$LOG"

# 1. the GPU and its CUDA version
if ! gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null); then
    say "nvidia-smi finds no GPU: run this on the GPU machine, or use --dry-run"
    exit 1
fi
cuda=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9][0-9]*\).*/\1/p' | head -n1)
if [[ -z "$cuda" ]] && command -v nvcc >/dev/null; then
    cuda=$(nvcc --version | sed -n 's/.*release \([0-9][0-9]*\)\..*/\1/p' | head -n1)
fi
extra=cuda12
if [[ -n "$cuda" && "$cuda" -ge 13 ]]; then extra=cuda13; fi
say "GPU: $gpu; driver supports CUDA ${cuda:-?}: extra [$extra]"

# 2. CuPy
if "$PY" -c "import cupy, sys; sys.exit(0 if cupy.is_available() else 1)" 2>/dev/null; then
    say "CuPy already works: $("$PY" -c 'import cupy; print(cupy.__version__)')"
else
    pip_args=(-q install -e ".[$extra]")
    if [[ -n "${WHEELHOUSE:-}" ]]; then  # offline: the extra's one requirement from there (minidl runs
        pip_args=(-q install --no-index --find-links "$WHEELHOUSE" "cupy-${extra}x")  # from this checkout)
    fi
    say "installing: $PY -m pip ${pip_args[*]}"
    if ! "$PY" -m pip "${pip_args[@]}"; then
        say "pip failed (no network? set WHEELHOUSE to a folder holding the cupy-${extra}x wheel and its dependencies)"
        exit 1
    fi
    if ! "$PY" -c "import cupy, sys; sys.exit(0 if cupy.is_available() else 1)"; then
        say "CuPy installed but cupy.is_available() is False: the driver and the [$extra] wheel do not match"
        exit 1
    fi
fi
if ! "$PY" -c "import torch" 2>/dev/null; then
    say "PyTorch is not importable: the parity tests skip, and the table has no PyTorch column"
elif ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    say "PyTorch has no CUDA: the parity tests compare with it on the CPU, and the table has no PyTorch column"
fi

# 3. the CUDA test subset
# the fused recurrent kernels and the conv stack first, so that a short budget covers them
first=(tests/nn/test_recurrent_torch.py tests/nn/test_recurrent_gradcheck.py tests/functional tests/nn/test_batchnorm.py
       tests/nn/test_conv2d.py tests/models)
say "CUDA tests: pytest --device cuda -m on_device -x --time-budget $TEST_BUDGET ${first[*]} tests"
"$PY" -m pytest -p no:cacheprovider --device cuda -m on_device -x --time-budget "$TEST_BUDGET" \
    -o addopts="" -q "${first[@]}" tests 2>&1 | tee "$LOG/cuda_tests.log" | tail -n 25
tests=${PIPESTATUS[0]}
case $tests in
    0) tests_line="passed" ;;
    2) tests_line="stopped by the time budget (see the Interrupted line; what ran passed)" ;;
    *) tests_line="FAILED (exit status $tests; $LOG/cuda_tests.log)" ;;
esac
say "CUDA tests: $tests_line ($((SECONDS - start)) s so far)"

# 4. the timings
"$PY" benchmarks/gpu.py --budget "$BENCH_BUDGET" --json "$LOG/gpu_table.json" "$@"
bench=$?
say "CUDA tests: $tests_line"
say "done in $((SECONDS - start)) s"
if [[ $tests -ne 0 && $tests -ne 2 ]] || [[ $bench -ne 0 ]]; then exit 1; fi

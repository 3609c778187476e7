"""minidl: deep learning from first principles in NumPy (CuPy on a GPU), no autograd."""

import re
from pathlib import Path

from setuptools import find_packages, setup

# One home for the version: minidl/__init__.py's __version__, read as text (importing minidl
# here would need numpy before it is installed).
VERSION = re.search(r'^__version__ = "([^"]+)"', Path(__file__).with_name("minidl").joinpath("__init__.py")
                    .read_text(encoding="utf-8"), re.M).group(1)

setup(
    name="minidl",
    version=VERSION,
    description="Deep learning rebuilt from first principles: hand-derived backward passes in NumPy/CuPy",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["minidl", "minidl.*"]),
    # the README that `python -m minidl.exercises init DIR` writes beside the stubs
    package_data={"minidl.exercises.stubs": ["*.md"]},
    python_requires=">=3.11",
    # threadpoolctl: reads and limits the BLAS threads (functional/host_threads.py)
    install_requires=["numpy>=1.24", "matplotlib>=3.7", "tqdm>=4.60", "threadpoolctl>=3.1"],
    extras_require={
        "dev": ["pytest>=7", "pytest-xdist>=3", "hypothesis>=6", "ruff>=0.4", "build>=1"],
        # jupytext..ipykernel: every chapter as a notebook (docs/tools/notebooks.py), run by tests/docs
        "docs": ["mkdocs>=1.6", "mkdocs-material>=9", "pymdown-extensions>=10", "mkdocstrings[python]>=0.24",
                 "jupytext>=1.16", "nbformat>=5.9", "nbclient>=0.10", "ipykernel>=6.29"],
        # Data-parallel training (minidl.distributed): mpi4py and an MPI library as a wheel,
        # so `mpiexec` lands in the environment with no compiler and no system MPI.
        "mpi": ["mpi4py>=4", "mpich>=4"],
        # The LSTM's per-step elementwise work and Adam's update as compiled loops on the CPU
        # (minidl/functional/lstm_loops.py, optim.adam_loop): the same numbers, about a fifth
        # less time a step at report B's sizes.
        "jit": ["numba>=0.60"],
        # The two CUDA extras are exclusive: install the one matching your CUDA toolkit.
        "cuda12": ["cupy-cuda12x>=13"],
        "cuda13": ["cupy-cuda13x>=13"],
    },
)

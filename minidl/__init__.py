"""minidl: deep learning from first principles in NumPy/CuPy, every backward derived by hand."""

from . import backend, errors, functional, nn, optim
from .backend import (
    asnumpy,
    cuda_available,
    get_array_module,
    get_default_dtype,
    manual_seed,
    set_default_dtype,
    to_device,
)
from .gradcheck import GradcheckError, GradcheckReport, gradcheck, gradcheck_pair
from .module import Module, Parameter, Sequential, is_grad_enabled, no_grad
from .serialization import load, save

__version__ = "0.1.0"

__all__ = [
    "backend",
    "errors",
    "functional",
    "nn",
    "optim",
    "save",
    "load",
    "asnumpy",
    "cuda_available",
    "get_array_module",
    "get_default_dtype",
    "manual_seed",
    "set_default_dtype",
    "to_device",
    "GradcheckError",
    "GradcheckReport",
    "gradcheck",
    "gradcheck_pair",
    "Module",
    "Parameter",
    "Sequential",
    "is_grad_enabled",
    "no_grad",
]

"""The errors minidl raises on bad input, each a subclass of the built-in error a user
would expect (so ``except ValueError`` still works) and of :class:`MinidlError`.

Every message names the argument, what was expected and what was given, e.g.
``Linear: input must have shape (..., 4), got (3, 5)``.

* :class:`ShapeError` (a ``ValueError``): an array has the wrong number of dims or sizes;
* :class:`DTypeError` (a ``TypeError``): an array has the wrong dtype, or is not an array;
* :class:`RangeError` (a ``ValueError``): a value lies outside its range (NaN or inf where
  finite numbers are needed, a negative length, a probability above 1, a bad setting);
* :class:`IndexRangeError` (an ``IndexError``): a token id or class label outside [0, n);
* :class:`DeviceError` (a ``ValueError``): arrays on different devices meet;
* :class:`DataError` (a ``ValueError``): a data file or archive is missing, incomplete or
  corrupt; the message names the path and what to do;
* :class:`CheckpointError` (a ``ValueError``): a checkpoint cannot be read or does not fit;
* :class:`TrainingDiverged` (a ``FloatingPointError``): a loss or a parameter became NaN or
  infinite during training;
* :class:`RunFolderError` (an ``OSError``): an output folder cannot be used: not writable,
  already holding a run, or in use by another run.
"""

from __future__ import annotations

__all__ = [
    "MinidlError", "ShapeError", "DTypeError", "RangeError", "IndexRangeError", "DeviceError",
    "DataError", "CheckpointError", "TrainingDiverged", "RunFolderError",
]


class MinidlError(Exception):
    """Base class of every error minidl raises on purpose."""


class ShapeError(MinidlError, ValueError):
    """An array has the wrong number of dimensions or the wrong sizes."""


class DTypeError(MinidlError, TypeError):
    """An array has the wrong dtype, or an argument is not an array at all."""


class RangeError(MinidlError, ValueError):
    """A value lies outside its allowed range (NaN/inf included), or a setting is invalid."""


class IndexRangeError(MinidlError, IndexError):
    """An integer id or label is outside ``[0, n)``."""


class DeviceError(MinidlError, ValueError):
    """Arrays on different devices were combined."""


class DataError(MinidlError, ValueError):
    """A data set file or archive is missing, incomplete or corrupt; the message names the path."""


class CheckpointError(MinidlError, ValueError):
    """A checkpoint file cannot be read, or its contents do not fit what loads it."""


class TrainingDiverged(MinidlError, FloatingPointError):
    """A training loss, an evaluation loss or a parameter became NaN or infinite."""


class RunFolderError(MinidlError, OSError):
    """An output folder cannot be used: not a writable folder, already holding a run that
    would be overwritten, or locked by a run in progress; the message names the folder."""

"""Tests of the functional pairs (a package, so that tests/functional/test_<concept>.py
and tests/nn/test_<concept>.py may share a file name)."""

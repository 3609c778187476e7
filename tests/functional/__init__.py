"""Tests of the functional pairs (a package, so that tests/functional/test_X.py and
tests/nn/test_X.py may share a file name)."""

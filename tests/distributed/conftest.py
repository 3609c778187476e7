"""Under ``mpiexec`` only the tests marked ``collective`` run (every rank must reach the same
collective calls in the same order); plain pytest runs everything here, and the collective
tests skip themselves when no launcher started the process."""

import pytest

from minidl.distributed import launched_by_mpi


def pytest_configure(config):
    config.addinivalue_line("markers", "collective: a test whose ranks meet in MPI collectives (run under mpiexec)")


def pytest_collection_modifyitems(config, items):
    if not launched_by_mpi():
        return
    keep = [i for i in items if i.get_closest_marker("collective")]
    drop = [i for i in items if not i.get_closest_marker("collective")]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def dist():
    """This process's data-parallel context (MPI under mpiexec)."""
    import minidl.distributed

    return minidl.distributed.init()

"""Shared test configuration."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """The test models are tiny: one intra-op thread is as fast, deterministic, and does not
    oversubscribe a shared 2-core machine. Restored after the session."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

"""nbclient's ``NotebookClient``, waiting for each kernel message in short polls.

Runs of the chapters under nbclient (the re-run test, the benchmark, the book's execution)
sometimes stalled: kernel and client both idle, then, after exactly the per-cell timeout
(300 s here), the run went on and passed. That is nbclient issue 312 (a cell with ipywidgets,
``shell_channel.get_msg(timeout=...)`` returning a message that had already arrived only when
the timeout ran out). Asking for the message in polls of at most :data:`POLL_S` seconds, until
the same deadline, bounds that stall by the poll instead of the cell's timeout; a reply that
never comes still fails at the deadline, as before.
"""

from __future__ import annotations

import time
from queue import Empty

from jupyter_core.utils import ensure_async
from nbclient import NotebookClient

#: The longest single wait for a kernel message, in seconds.
POLL_S = 1.0


def _in_polls(get_msg):
    """``get_msg(timeout)`` as a loop of waits of at most :data:`POLL_S` seconds."""

    async def get(timeout: float | None = None, **kwargs):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = POLL_S if deadline is None else min(POLL_S, max(0.0, deadline - time.monotonic()))
            try:
                return await ensure_async(get_msg(timeout=left, **kwargs))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get


class PollingNotebookClient(NotebookClient):
    """A ``NotebookClient`` whose shell and IOPub channels are read in polls of ``POLL_S``."""

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = _in_polls(channel.get_msg)
        return kc

"""``torch_threads(n)``: run a block with ``n`` torch CPU threads, then restore the old count."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Set torch's CPU threads for the block (None: leave them); restore them afterwards.

    One thread is often faster than two for small models on a busy 2-core machine.
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)

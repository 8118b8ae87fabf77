"""``torch_threads(n)``: kept here for old imports; it lives in :mod:`agents.harness.threads`."""

from agents.harness.threads import torch_threads

__all__ = ["torch_threads"]

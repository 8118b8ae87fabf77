"""RAM checkpoints: plain dicts of tensors and primitives, written atomically, loaded safely.

A checkpoint loads with ``torch.load(path, weights_only=True)``: it holds the model's weights,
its :class:`~agents.ram.model.RAMConfig` as a plain dict, the env id and kwargs it was trained
on, and, for ``--resume``, the optimizer, the scheduler, the RNG states and the epoch.

- ``save_checkpoint(path, payload)``: write ``payload`` with the RAM format tag atomically (temp
  file, then rename: a reader never sees half a file, a crash keeps the old one).
- ``load_checkpoint(path, device="cpu")``: read with ``weights_only=True`` and check that it is
  a RAM checkpoint (FileNotFoundError: no file; CheckpointError: corrupt, truncated, not RAM's,
  or of an unknown version, the message naming the file and what is wrong).
- ``load_model(data, device="cpu", source="checkpoint")``: the model of a loaded checkpoint
  (CheckpointError: the config is malformed or the weights do not fit it).
"""

from __future__ import annotations

from agents.checkpoints import CheckpointError, CheckpointFormat
from agents.ram.model import RAMConfig, RecurrentAttentionModel

__all__ = ["CHECKPOINTS", "CheckpointError", "load_checkpoint", "load_model", "save_checkpoint"]

FORMAT = "glimpse-env/ram"
REQUIRED_KEYS = ("format", "version", "model_config", "model", "env_id", "env_kwargs", "epoch")
CHECKPOINTS = CheckpointFormat(
    FORMAT,
    version=1,
    required=REQUIRED_KEYS,
    kind="a glimpse-env RAM",
    build=lambda config: RecurrentAttentionModel(RAMConfig.from_dict(config)),
)
"""The RAM checkpoint format: the training harness writes and resumes through it."""

save_checkpoint = CHECKPOINTS.save
load_checkpoint = CHECKPOINTS.load
load_model = CHECKPOINTS.load_model

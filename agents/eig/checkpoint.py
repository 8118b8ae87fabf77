"""EIG checkpoints: plain dicts of tensors and primitives, written atomically, loaded safely.

Written with :func:`agents.checkpoints.save_checkpoint` (a temp file, then ``os.replace``) under
this agent's own format tag, and read with ``torch.load(path, weights_only=True)``. A checkpoint
holds the model's weights and :class:`~agents.eig.model.EIGConfig`, the env id and kwargs it was
trained on, the training phase, and, for ``--resume``, the optimizer, scheduler, RNG states and
epoch.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from agents.checkpoints import CheckpointError, CheckpointFormat
from agents.eig.model import EIGConfig, EIGModel

__all__ = [
    "CHECKPOINTS",
    "CheckpointError",
    "is_eig_checkpoint",
    "load_checkpoint",
    "load_model",
    "save_checkpoint",
]

FORMAT = "glimpse-env/eig"


def is_eig_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is an EIG checkpoint, by a peek at its pickle (no torch import)."""
    path = Path(path)
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.split("/")[-1] == "data.pkl"]
        return bool(names) and FORMAT.encode() in archive.read(names[0])


CHECKPOINTS = CheckpointFormat(
    FORMAT,
    version=1,
    required=("format", "version", "model_config", "model", "env_id", "env_kwargs", "phase"),
    kind="an EIG",
    build=lambda config: EIGModel(EIGConfig.from_dict(config)),
)
"""The EIG checkpoint format: the training harness writes and resumes through it.

``save_checkpoint(path, payload)`` writes atomically; ``load_checkpoint(path, device)`` reads
with ``weights_only=True`` and checks the tag, version and entries (FileNotFoundError, or
CheckpointError saying what is wrong); ``load_model(data, device, source)`` rebuilds the model.
"""

save_checkpoint = CHECKPOINTS.save
load_checkpoint = CHECKPOINTS.load
load_model = CHECKPOINTS.load_model

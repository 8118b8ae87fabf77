"""Where datasets live: the one data root, and the error raised when files are missing.

Resolution order for the root: an explicit ``data_root`` argument, else the ``GLIMPSE_ENV_DATA``
environment variable, else a per-user cache directory (``$XDG_CACHE_HOME/glimpse-env`` or
``~/.cache/glimpse-env``). Downloads go to that root, in torchvision's layout. System dataset
folders (Debian's ``dataset-*`` packages, see :mod:`glimpse_env.data.catalog`) are searched after
the root and before downloading.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "DatasetNotFoundError", "data_root"]

ENV_VAR = "GLIMPSE_ENV_DATA"


class DatasetNotFoundError(FileNotFoundError, ValueError):
    """A dataset's files are missing and could not be downloaded.

    The message names the root searched, the files expected and how to get them.
    """


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$GLIMPSE_ENV_DATA``, else the per-user cache.

    >>> str(data_root("/data"))
    '/data'
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "glimpse-env"

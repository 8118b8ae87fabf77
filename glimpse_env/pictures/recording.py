"""GIFs of episodes: :func:`write_gif` and the :class:`RecordGif` wrapper (imageio, no moviepy).

Files are written atomically: to a temporary file in the same folder, then ``os.replace``d onto
the target, so a reader never sees half a GIF and an interrupted write leaves the old file.

>>> import gymnasium as gym, glimpse_env, tempfile, torch
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.arange(4),
...                     classes=tuple("0123"))
>>> folder = tempfile.mkdtemp()
>>> env = RecordGif(gym.make("GlimpseEnv-v0", dataset=data, num_glimpses=2,
...                          render_mode="rgb_array"), folder, episode_trigger=lambda i: i == 1)
>>> for episode in range(2):
...     _ = env.reset(seed=episode)
...     for _ in range(2):
...         _ = env.step(env.action_space.sample())
>>> [p.name for p in env.paths]
['glimpse-episode-1.gif']
>>> env.close()
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import imageio.v3 as iio
import numpy as np

__all__ = ["RecordGif", "cubic_schedule", "write_gif"]


def _file_mode(target: Path) -> int:
    """The permissions a new file gets (the old file's, else 0o666 less the umask)."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_gif(
    path: str | os.PathLike[str],
    frames: Sequence[np.ndarray],
    fps: float = 4.0,
    loop: int = 0,
    durations: Sequence[float] | None = None,
) -> Path:
    """Write frames to a GIF file, atomically.

    Args:
        path: the file to write (its folder is created if missing).
        frames: ``(H, W, 3)`` uint8 frames, all the same size.
        fps: frames per second (each frame shows ``1000 / fps`` ms).
        loop: how many times players loop the GIF; 0 loops forever.
        durations: per-frame display times in milliseconds, overriding ``fps``.

    Returns:
        The path written.

    Note:
        GIF stores times in hundredths of a second, and the encoder (Pillow) merges consecutive
        identical frames into one frame that shows for their summed time.
    """
    if len(frames) == 0:
        raise ValueError("write_gif needs at least one frame")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps!r}")
    first = np.asarray(frames[0])
    if first.ndim != 3 or first.shape[2] != 3 or first.dtype != np.uint8:
        raise ValueError(f"frames must be (H, W, 3) uint8, got {first.shape} {first.dtype}")
    if durations is not None and len(durations) != len(frames):
        raise ValueError(f"durations has {len(durations)} entries for {len(frames)} frames")
    stack = np.stack([np.asarray(f, dtype=np.uint8) for f in frames])  # (N, H, W, 3)
    duration: float | list[float] = 1000.0 / fps if durations is None else list(durations)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".gif", dir=target.parent)
    os.close(handle)
    try:
        iio.imwrite(temp, stack, extension=".gif", duration=duration, loop=loop)
        os.chmod(temp, _file_mode(target))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def cubic_schedule(episode_id: int) -> bool:
    """Record episodes 0, 1, 8, 27, ... (perfect cubes) below 1000, then every 1000th.

    The default of gymnasium's ``RecordVideo``.
    """
    if episode_id < 1000:
        return round(episode_id ** (1.0 / 3)) ** 3 == episode_id
    return episode_id % 1000 == 0


class RecordGif(gym.Wrapper):
    """Record chosen episodes of an ``rgb_array`` env to GIF files, one file per episode.

    Like gymnasium's ``RecordVideo`` (same trigger and naming), but GIF through imageio, no
    moviepy. An episode's GIF has one frame for its reset and one per step, and is written
    (atomically) when the episode ends, or by :meth:`close` if it is still running.

    Args:
        env: an environment made with ``render_mode="rgb_array"``.
        folder: where the files go (created if missing).
        episode_trigger: ``episode_id -> bool``, which episodes to record (ids count resets from
            0); default :func:`cubic_schedule`.
        name_prefix: files are ``{name_prefix}-episode-{episode_id}.gif``.
        fps: frames per second; default the env's ``metadata["render_fps"]``.
        loop: GIF loop count (0 = forever).

    Attributes:
        paths: the files written so far, in order.
    """

    def __init__(
        self,
        env: gym.Env,
        folder: str | os.PathLike[str],
        episode_trigger: Callable[[int], bool] | None = None,
        name_prefix: str = "glimpse",
        fps: float | None = None,
        loop: int = 0,
    ) -> None:
        super().__init__(env)
        if env.render_mode != "rgb_array":
            raise ValueError(
                f"RecordGif needs an env made with render_mode='rgb_array', got {env.render_mode!r}"
            )
        self.folder = Path(folder)
        self.episode_trigger = episode_trigger or cubic_schedule
        self.name_prefix = name_prefix
        self.fps = float(fps if fps is not None else env.metadata.get("render_fps", 4))
        self.loop = loop
        self.episode_id = -1
        self.paths: list[Path] = []
        self._frames: list[np.ndarray] | None = None

    @property
    def recording(self) -> bool:
        """Whether the current episode is being recorded."""
        return self._frames is not None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        self._finish()
        obs, info = super().reset(seed=seed, options=options)
        self.episode_id += 1
        if self.episode_trigger(self.episode_id):
            self._frames = [self._frame()]
        return obs, info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = super().step(action)
        if self._frames is not None:
            self._frames.append(self._frame())
            if terminated or truncated:
                self._finish()
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        self._finish()
        super().close()

    def _frame(self) -> np.ndarray:
        frame = self.env.render()
        if not isinstance(frame, np.ndarray):
            raise RuntimeError(f"render() returned {type(frame).__name__}, expected a frame")
        return frame

    def _finish(self) -> None:
        """Write the episode being recorded, if any."""
        if not self._frames:
            self._frames = None
            return
        path = self.folder / f"{self.name_prefix}-episode-{self.episode_id}.gif"
        self.paths.append(write_gif(path, self._frames, self.fps, self.loop))
        self._frames = None

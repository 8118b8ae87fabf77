"""Saved SB3 models as policies that act in the native action space (for ``gif``, eval, bench).

A model saved by :func:`save_model` is SB3's own zip (``PPO.load`` reads it as usual) with one
more member, ``glimpse_env.json``: the algorithm, the action form (``flat`` or ``discrete``),
its decoding constants (logit scale, class confidence, the location grid), the frame stack, the
env it was trained on, and the model's description (:mod:`agents.sb3.model_spec`).
:class:`SB3Policy` uses them to turn the SB3 action back into the native
``{"location": (2,), "logits": (n,)}`` through :mod:`glimpse_env.core.actions`, exactly as
:class:`~glimpse_env.faces.sb3.GlimpseSB3VecEnv` does during training.

:func:`load_policy` never calls SB3's ``load``, which unpickles the zip's ``data`` member (a
crafted one runs code): it rebuilds the model from the description and reads the weights with
``torch.load(..., weights_only=True)``. A zip without a description (saved by an older
glimpse-env, or not by glimpse-env) is refused.

>>> import tempfile, gymnasium as gym, torch
>>> from agents.sb3.train import train_sb3
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.randint(0, 256, (32, 1, 28, 28), dtype=torch.uint8),
...                     torch.arange(32) % 10, classes=tuple("0123456789"))
>>> run = train_sb3("ppo", "GlimpseEnv-v0", 64, env_kwargs={"dataset": data},
...                 hyperparams={"n_steps": 16, "batch_size": 32}, num_envs=4)
>>> folder = tempfile.TemporaryDirectory()
>>> path = run.save(f"{folder.name}/ppo")  # SB3's zip and glimpse_env.json
>>> env = gym.make("GlimpseEnv-v0", dataset=data)
>>> policy = load_policy(path, env)
>>> obs, info = env.reset(seed=0)
>>> action, state = policy.predict(obs)
>>> sorted(action)
['location', 'logits']
>>> folder.cleanup()
"""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecFrameStack
from stable_baselines3.common.vec_env.stacked_observations import StackedObservations

from agents.sb3.algos import ALGOS
from agents.sb3.metadata import METADATA_NAME, SB3Metadata, read_metadata
from agents.sb3.model_spec import describe_model, rebuild_model
from glimpse_env.core.actions import decode_discrete, decode_flat
from glimpse_env.faces.sb3 import GlimpseSB3VecEnv

__all__ = ["SB3Policy", "load_policy", "metadata_from_venv", "save_model"]


def metadata_from_venv(
    algo: str,
    venv: VecEnv,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> SB3Metadata:
    """The metadata of a model trained on ``venv`` (a GlimpseSB3VecEnv, maybe frame-stacked)."""
    frame_stack = venv.stacked_obs.n_stack if isinstance(venv, VecFrameStack) else 0
    inner = venv.unwrapped
    if not isinstance(inner, GlimpseSB3VecEnv):
        raise TypeError(f"expected a GlimpseSB3VecEnv underneath, got {type(inner).__name__}")
    grid = inner.grid.cpu().tolist() if inner.action_kind == "discrete" else []
    return SB3Metadata(
        algo=algo,
        action=inner.action_kind,
        num_classes=inner.num_classes,
        logit_scale=inner.logit_scale,
        confidence=inner.confidence,
        grid=grid,
        frame_stack=frame_stack,
        early_stop=inner.early_stop,
        env_id=env_id,
        env_kwargs=_jsonable(env_kwargs or {}),
    )


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that survive JSON (an ImageDataset object does not)."""
    kept = {}
    for key, value in values.items():
        try:
            json.dumps(value)
        except TypeError:
            continue
        kept[key] = value
    return kept


def save_model(model: BaseAlgorithm, path: str | os.PathLike, metadata: SB3Metadata) -> Path:
    """Save ``model`` with SB3's ``save`` plus the metadata member, atomically, to ``path``.

    The metadata gets the model's description (:func:`agents.sb3.model_spec.describe_model`),
    which :func:`load_policy` rebuilds the model from. Returns the path written (``.zip``
    appended if missing).
    """
    try:
        metadata = replace(metadata, model=describe_model(model))
    except TypeError as err:  # still save the trained model: SB3's own load reads it
        warnings.warn(
            f"saving {path} without a model description ({err}): load_policy will refuse it",
            stacklevel=2,
        )
    path = Path(path)
    if path.suffix != ".zip":
        path = path.with_name(path.name + ".zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.zip")
    model.save(partial)
    with zipfile.ZipFile(partial, "a") as archive:
        archive.writestr(METADATA_NAME, json.dumps(asdict(metadata), indent=2))
    os.replace(partial, path)
    return path


class SB3Policy:
    """An SB3 model that reads the env's observations and returns native actions.

    The ``state`` it returns carries the frame stack (if the model was trained on stacked
    observations) and the recurrent state (RecurrentPPO); pass it back on the next call, with
    ``episode_start`` true where a new episode begins. A state is updated in place by the next
    call that receives it.

    Args:
        model: the trained SB3 algorithm.
        metadata: how its actions and observations are read.
    """

    def __init__(self, model: BaseAlgorithm, metadata: SB3Metadata) -> None:
        self.model = model
        self.metadata = metadata
        self.grid = torch.tensor(metadata.grid, dtype=torch.float32).reshape(-1, 2)

    def _decode(self, actions: np.ndarray) -> dict[str, np.ndarray]:
        """SB3 actions ``(B, 2+n[+1])`` or ``(B,)`` -> native ``location (B, 2)``, ``logits``."""
        meta, n = self.metadata, self.metadata.num_classes
        if meta.action == "flat":
            flat = torch.as_tensor(np.asarray(actions, dtype=np.float32)).reshape(len(actions), -1)
            location, logits = decode_flat(flat[:, : 2 + n], n, meta.logit_scale)
            native = {"location": location.numpy(), "logits": logits.numpy()}
            if meta.early_stop:
                native["stop"] = (flat[:, -1] > 0).numpy().astype(np.int64)
            return native
        index = torch.as_tensor(np.asarray(actions)).reshape(-1)
        location, logits = decode_discrete(index, self.grid, n, meta.confidence)
        return {"location": location.numpy(), "logits": logits.numpy()}

    def predict(
        self,
        obs: dict[str, np.ndarray],
        state: tuple[Any, Any] | None = None,
        episode_start: np.ndarray | bool | None = None,
        deterministic: bool = True,
    ) -> tuple[dict[str, np.ndarray], tuple[Any, Any]]:
        """The native action for one observation (or a batch), and the state to pass back.

        Args:
            obs: ``{"glimpse": (S*C, P, P), "location": (2,)}`` or a batch ``(B, ...)``.
            state: what the last call returned; None at the start of episodes.
            episode_start: ``(B,)`` bools (or one bool): the episode starts with this obs.
            deterministic: the policy's mode; False samples.

        Returns:
            ``({"location": (2,), "logits": (n,)}, state)`` (``(B, ...)`` for a batch).
        """
        location = np.asarray(obs["location"], dtype=np.float32)
        batched = location.ndim == 2
        batch = {key: np.asarray(value, dtype=np.float32) for key, value in obs.items()}
        if not batched:
            batch = {key: value[None] for key, value in batch.items()}
        size = len(batch["location"])
        starts = np.ones(size, dtype=bool) if state is None else np.zeros(size, dtype=bool)
        if episode_start is not None:
            starts = np.broadcast_to(np.asarray(episode_start, dtype=bool), (size,)).copy()
        stacker, recurrent = state if state is not None else (None, None)
        if self.metadata.frame_stack:
            if stacker is None:
                space = spaces.Dict(
                    {
                        key: spaces.Box(-np.inf, np.inf, value.shape[1:], np.float32)
                        for key, value in batch.items()
                    }
                )
                stacker = StackedObservations(size, self.metadata.frame_stack, space)
                batch = stacker.reset(batch)
            else:
                batch, _ = stacker.update(batch, starts, [{} for _ in range(size)])
        actions, recurrent = self.model.predict(
            batch, state=recurrent, episode_start=starts, deterministic=deterministic
        )
        native = self._decode(actions)
        if not batched:
            native = {key: value[0] for key, value in native.items()}
        return native, (stacker, recurrent)


def load_policy(path: str | os.PathLike, env: Any = None, device: str = "cpu") -> SB3Policy:
    """Load a model saved by :func:`save_model` as an :class:`SB3Policy`.

    Args:
        path: the ``.zip``.
        env: the env it will act in (optional): its observation space and classes are checked.
        device: torch device of the model.

    The model is rebuilt from the metadata's description and the zip's weights (read with
    ``weights_only=True``); nothing in the file is unpickled and SB3's ``data`` member is not read.

    Raises:
        ValueError: not such a model (or one saved without a description, or a description
            naming classes outside torch/SB3), or an env it cannot act in; one line.
    """
    metadata = read_metadata(path)
    if metadata.algo not in ALGOS:
        raise ValueError(f"{path}: unknown algorithm {metadata.algo!r}; known: {', '.join(ALGOS)}")
    if metadata.model is None:
        raise ValueError(
            f"{path} has no model description in {METADATA_NAME} (saved by an older glimpse-env "
            "or not by glimpse-env), and loading it through SB3 would unpickle code from the "
            f"file; retrain it with `glimpse-env train {metadata.algo}`"
        )
    model = rebuild_model(path, metadata.model, ALGOS[metadata.algo].algo_class, device)
    if env is not None:
        core = env.unwrapped.core
        if core.num_classes != metadata.num_classes:
            raise ValueError(
                f"{path} was trained with {metadata.num_classes} classes, the env has "
                f"{core.num_classes} (trained on {metadata.env_id})"
            )
        glimpse = model.observation_space["glimpse"].shape
        expected = core.glimpse_shape
        if metadata.frame_stack:
            expected = (*expected[:-1], expected[-1] * metadata.frame_stack)
        if tuple(glimpse) != tuple(expected):
            raise ValueError(
                f"{path} reads glimpses of shape {tuple(glimpse)}, the env gives "
                f"{core.glimpse_shape} (trained on {metadata.env_id})"
            )
    return SB3Policy(model, metadata)

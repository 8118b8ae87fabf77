"""Narrower spaces than the native Dicts, for libraries that need one Box or one Discrete.

Actions, for a single env and for the batched vector env:

- :class:`FlatAction` / :class:`FlatVectorAction`: one ``Box(-1, 1, (2 + n,))`` (+1 with early
  stop) for continuous-action algorithms (PPO, A2C, SAC): ``[x, y, l_1, ..., l_n]``, logits
  ``logit_scale * l_i``.
- :class:`DiscreteAction` / :class:`DiscreteVectorAction`: one ``Discrete(G*G*n)`` for DQN-style
  algorithms: a cell of the patch grid times a class, the class sent as a confident one-hot
  belief.

Observations: gymnasium's :class:`~gymnasium.wrappers.FlattenObservation` turns the single env's
Dict into one float32 Box ``[glimpse (S*C*P*P values, row-major), x, y]``;
:class:`FlattenVectorObservation` does the same for a whole batch at once (gymnasium's vector
``FlattenObservation`` loops over the envs in Python).

Every action form decodes through one :class:`ActionCodec` (on :mod:`glimpse_env.core.actions`),
which the SB3 adapter (:mod:`glimpse_env.faces.sb3`) uses too, so every face reads an action the
same way.

>>> import gymnasium as gym, torch, glimpse_env
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.arange(4),
...                     classes=tuple("0123"))
>>> env = DiscreteAction(gym.make("GlimpseEnv-v0", dataset=data))
>>> env.action_space  # a 6 x 6 grid of 8x8 patches at stride 4, times 4 classes
Discrete(144)
>>> FlatAction(gym.make("GlimpseEnv-v0", dataset=data)).action_space
Box(-1.0, 1.0, (6,), float32)
"""

from __future__ import annotations

from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import VectorActionWrapper, VectorEnv, VectorObservationWrapper

from glimpse_env.core.actions import decode_discrete, decode_flat, discrete_grid
from glimpse_env.core.batched import GlimpseCore

__all__ = [
    "ActionCodec",
    "DiscreteAction",
    "DiscreteVectorAction",
    "FlatAction",
    "FlatVectorAction",
    "FlattenVectorObservation",
    "flat_action_space",
    "flatten_observations",
    "grid_for",
]

ActionKind = Literal["flat", "discrete"]


def flat_action_space(num_classes: int, early_stop: bool) -> spaces.Box:
    """``Box(-1, 1, (2 + n + early_stop,))``: location, scaled logits, and a stop score (> 0)."""
    return spaces.Box(-1.0, 1.0, (2 + num_classes + int(early_stop),), dtype=np.float32)


def grid_for(env: gym.Env | Any, stride: int | None = None) -> torch.Tensor:
    """The location grid of an env (single or vector): patch centres at ``stride`` (``P // 2``)."""
    return _grid(env.unwrapped.core, stride)


def _grid(core: GlimpseCore, stride: int | None) -> torch.Tensor:
    size = min(core.canvas_shape[1:])
    return discrete_grid(size, core.config.patch_size, stride, device=core.device)


class ActionCodec:
    """Turns batches of flat (Box) or discrete actions into the native tensors of one core.

    Args:
        core: the env's core (``env.unwrapped.core``).
        kind: ``"flat"`` or ``"discrete"``.
        logit_scale: flat actions' logits are ``logit_scale * l_i``.
        stride: discrete grid stride in pixels (default half the patch size).
        confidence: discrete actions' logit of the chosen class (the others get 0).

    Attributes:
        space: the single env's action space (``Box`` or ``Discrete``).
        grid: ``(G*G, 2)`` locations of the discrete cells (discrete only).
    """

    def __init__(
        self,
        core: GlimpseCore,
        kind: ActionKind,
        logit_scale: float = 10.0,
        stride: int | None = None,
        confidence: float = 10.0,
    ) -> None:
        if kind not in ("flat", "discrete"):
            raise ValueError(f"action must be 'flat' or 'discrete', got {kind!r}")
        self.kind = kind
        self.device = core.device
        self.num_classes = core.num_classes
        self.early_stop = core.config.early_stop
        self.logit_scale = logit_scale
        self.confidence = confidence
        self.space: spaces.Space
        if kind == "flat":
            self.space = flat_action_space(self.num_classes, self.early_stop)
        else:
            if self.early_stop:
                raise ValueError("discrete actions do not support early_stop=True; use flat ones")
            self.grid = _grid(core, stride)
            self.space = spaces.Discrete(len(self.grid) * self.num_classes)

    def decode(
        self, actions: Any, batch: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``batch`` actions -> ``location (B, 2)``, ``logits (B, n)``, ``stop (B,)`` or None.

        Raises:
            ValueError: the wrong number of values, NaN or inf, discrete ints out of range.
        """
        array = np.asarray(actions)
        width = self.space.shape[0] if self.kind == "flat" else 1
        if array.size != batch * width:
            expected = (batch, width) if self.kind == "flat" else (batch,)
            raise ValueError(
                f"{self.kind} actions must have shape {expected} (or one action of "
                f"{self.space}), got {array.shape}"
            )
        if self.kind == "discrete":
            index = torch.as_tensor(array, device=self.device).reshape(batch)
            location, logits = decode_discrete(index, self.grid, self.num_classes, self.confidence)
            return location, logits, None
        flat = torch.as_tensor(array.astype(np.float32), device=self.device).reshape(batch, width)
        if not torch.isfinite(flat).all():
            raise ValueError("flat actions must be finite, got NaN or inf")
        location, logits = decode_flat(flat[:, : 2 + self.num_classes], self.num_classes,
                                       self.logit_scale)  # fmt: skip
        stop = flat[:, -1] > 0 if self.early_stop else None
        return location, logits, stop

    def native(self, actions: Any, batch: int | None = None) -> dict[str, np.ndarray]:
        """The native Dict action (one, or a batch of ``batch``) as NumPy arrays."""
        location, logits, stop = self.decode(actions, 1 if batch is None else batch)
        native = {"location": location.cpu().numpy(), "logits": logits.cpu().numpy()}
        if stop is not None:
            native["stop"] = stop.cpu().numpy().astype(np.int64)
        if batch is None:
            return {key: value[0] for key, value in native.items()}
        return native


class FlatAction(gym.ActionWrapper):
    """One Box action ``[x, y, l_1, ..., l_n(, stop)]`` in [-1, 1].

    Args:
        env: a GlimpseEnv.
        logit_scale: logits are ``logit_scale * l_i`` (10 lets a policy be near certain).
    """

    def __init__(self, env: gym.Env, logit_scale: float = 10.0) -> None:
        super().__init__(env)
        self.codec = ActionCodec(env.unwrapped.core, "flat", logit_scale=logit_scale)
        self.num_classes = self.codec.num_classes
        self.early_stop = self.codec.early_stop
        self.logit_scale = logit_scale
        self.action_space = self.codec.space

    def action(self, action: np.ndarray) -> dict[str, np.ndarray]:
        return self.codec.native(action)


class DiscreteAction(gym.ActionWrapper):
    """One Discrete action ``cell * n + class`` over the patch grid (see :func:`grid_for`).

    Args:
        env: a GlimpseEnv (without early stop).
        stride: grid stride in pixels (default half the patch size).
        confidence: logit of the chosen class (the others get 0).
    """

    def __init__(self, env: gym.Env, stride: int | None = None, confidence: float = 10.0) -> None:
        super().__init__(env)
        self.codec = ActionCodec(env.unwrapped.core, "discrete", stride=stride,
                                 confidence=confidence)  # fmt: skip
        self.num_classes = self.codec.num_classes
        self.confidence = confidence
        self.grid = self.codec.grid.cpu()
        self.action_space = self.codec.space

    def action(self, action: int | np.ndarray) -> dict[str, np.ndarray]:
        return self.codec.native(action)


class _VectorAction(VectorActionWrapper):
    """A batched action wrapper over a :class:`~glimpse_env.faces.vector.GlimpseVectorEnv`."""

    def __init__(self, env: VectorEnv, codec: ActionCodec) -> None:
        super().__init__(env)
        self.codec = codec
        self.single_action_space = codec.space
        self.action_space = gym.vector.utils.batch_space(codec.space, self.num_envs)

    def actions(self, actions: Any) -> dict[str, np.ndarray]:
        return self.codec.native(actions, self.num_envs)


class FlatVectorAction(_VectorAction):
    """:class:`FlatAction` for a batched vector env: actions ``(N, 2 + n)``, decoded at once."""

    def __init__(self, env: VectorEnv, logit_scale: float = 10.0) -> None:
        super().__init__(env, ActionCodec(env.unwrapped.core, "flat", logit_scale=logit_scale))


class DiscreteVectorAction(_VectorAction):
    """:class:`DiscreteAction` for a batched vector env: actions ``(N,)``, decoded at once."""

    def __init__(self, env: VectorEnv, stride: int | None = None, confidence: float = 10.0) -> None:
        codec = ActionCodec(env.unwrapped.core, "discrete", stride=stride, confidence=confidence)
        super().__init__(env, codec)


def flatten_observations(space: spaces.Dict, observations: dict[str, np.ndarray]) -> np.ndarray:
    """A batch of Dict-of-Box observations as one ``(N, D)`` float32 array.

    The same values in the same order as :func:`gymnasium.spaces.utils.flatten` of each row: the
    space's keys in order, each row-major (``[glimpse..., x, y]`` for the glimpse envs).
    """
    parts = [np.asarray(observations[key]) for key in space.spaces]
    batch = len(parts[0])
    return np.concatenate([part.reshape(batch, -1) for part in parts], axis=1).astype(np.float32)


class FlattenVectorObservation(VectorObservationWrapper):
    """Gymnasium's ``FlattenObservation`` for a whole batch at once (next-step autoreset)."""

    def __init__(self, env: VectorEnv) -> None:
        super().__init__(env)
        self._dict_space = env.single_observation_space
        if not isinstance(self._dict_space, spaces.Dict):
            raise ValueError(f"expected a Dict observation space, got {self._dict_space}")
        self.single_observation_space = spaces.flatten_space(self._dict_space)
        self.observation_space = gym.vector.utils.batch_space(
            self.single_observation_space, self.num_envs
        )

    def observations(self, observations: dict[str, np.ndarray]) -> np.ndarray:
        return flatten_observations(self._dict_space, observations)

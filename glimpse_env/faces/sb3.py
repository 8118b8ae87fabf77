"""A Stable-Baselines3 VecEnv that steps the batched core directly (no per-env Python objects).

SB3's VecEnv API differs from gymnasium's vector API: episodes restart in the same step, the
last observation of an episode goes in ``infos[i]["terminal_observation"]``, and infos are a
list of dicts. :class:`GlimpseSB3VecEnv` translates a
:class:`~glimpse_env.faces.vector.GlimpseVectorEnv`
run in ``same_step`` autoreset mode, with the actions of :mod:`glimpse_env.faces.wrappers`
(``"flat"``
Box or ``"discrete"``) decoded for the whole batch at once.

>>> from glimpse_env.faces.sb3 import make_sb3_vec_env
>>> venv = make_sb3_vec_env("GlimpseEnv-v0", num_envs=8, action="discrete",
...                         split="test")  # doctest: +SKIP
>>> from stable_baselines3 import DQN
>>> DQN("MultiInputPolicy", venv).learn(1_000)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv

from glimpse_env.core.actions import decode_discrete, decode_flat
from glimpse_env.faces.vector import GlimpseVectorEnv
from glimpse_env.faces.wrappers import flat_action_space, grid_for
from glimpse_env.registration import env_kwargs as registered_env_kwargs

__all__ = ["GlimpseSB3VecEnv", "make_sb3_vec_env"]


class GlimpseSB3VecEnv(VecEnv):
    """SB3 VecEnv over a batched :class:`~glimpse_env.faces.vector.GlimpseVectorEnv`.

    Args:
        env: the batched env; it is switched to same-step autoreset.
        action: ``"flat"`` (Box, for PPO/A2C/SAC/RecurrentPPO) or ``"discrete"`` (for DQN).
        logit_scale: flat actions' logit scale (see
        :class:`~glimpse_env.faces.wrappers.FlatAction`).
        stride: discrete grid stride (see :class:`~glimpse_env.faces.wrappers.DiscreteAction`).
        confidence: discrete actions' class logit.
    """

    def __init__(
        self,
        env: GlimpseVectorEnv,
        action: Literal["flat", "discrete"] = "flat",
        logit_scale: float = 10.0,
        stride: int | None = None,
        confidence: float = 10.0,
    ) -> None:
        if action not in ("flat", "discrete"):
            raise ValueError(f"action must be 'flat' or 'discrete', got {action!r}")
        env.metadata = {**env.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}
        self.env = env
        self.action_kind = action
        self.logit_scale = logit_scale
        self.confidence = confidence
        core = env.core
        self.num_classes = core.num_classes
        self.early_stop = core.config.early_stop
        if action == "flat":
            action_space: spaces.Space = flat_action_space(self.num_classes, self.early_stop)
        else:
            if self.early_stop:
                raise ValueError("discrete actions do not support early_stop=True; use 'flat'")
            self.grid = grid_for(env, stride)
            action_space = spaces.Discrete(len(self.grid) * self.num_classes)
        self.render_mode = env.render_mode
        super().__init__(env.num_envs, env.single_observation_space, action_space)
        self._actions: np.ndarray | None = None

    # -------------------------------------------------------------- stepping

    def reset(self) -> dict[str, np.ndarray]:
        seed = self._seeds[0]
        obs, _ = self.env.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def _decode(self, actions: np.ndarray):
        device = self.env.core.device
        n = self.num_classes
        if self.action_kind == "flat":
            flat = torch.as_tensor(actions, dtype=torch.float32, device=device)
            flat = flat.reshape(self.num_envs, -1)
            location, logits = decode_flat(flat[:, : 2 + n], n, self.logit_scale)
            stop = flat[:, -1] > 0 if self.early_stop else None
            return location, logits, stop
        index = torch.as_tensor(actions, device=device).reshape(self.num_envs)
        location, logits = decode_discrete(index, self.grid, n, self.confidence)
        return location, logits, None

    def step_wait(self):
        if self._actions is None:
            raise RuntimeError("step_async must be called before step_wait")
        obs, reward, terminated, truncated, info = self.env.step_tensors(
            *self._decode(self._actions)
        )
        self._actions = None
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(dones):
            final = info["final_info"]
            infos[i] = {
                "terminal_observation": info["final_obs"][i],
                "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                "label": int(final["label"][i]),
                "correct": bool(final["correct"][i]),
                "belief": final["belief"][i],
            }
        return obs, reward.astype(np.float32), dones, infos

    # -------------------------------------------------------------- plumbing

    def close(self) -> None:
        self.env.close()

    def _targets(self, indices) -> list[int]:
        return list(self._get_indices(indices))

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.env, attr_name) for _ in self._targets(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *args, indices=None, **kwargs) -> list[Any]:
        result = getattr(self.env, method_name)(*args, **kwargs)
        return [result for _ in self._targets(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices=None) -> list[bool]:
        return [False for _ in self._targets(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        return [None for _ in range(self.num_envs)]


def make_sb3_vec_env(
    env_id: str,
    num_envs: int = 8,
    action: Literal["flat", "discrete"] = "flat",
    *,
    logit_scale: float = 10.0,
    stride: int | None = None,
    confidence: float = 10.0,
    **env_kwargs: Any,
) -> GlimpseSB3VecEnv:
    """A :class:`GlimpseSB3VecEnv` for a registered id, with env kwargs over its preset."""
    vector = GlimpseVectorEnv(num_envs=num_envs, **registered_env_kwargs(env_id, **env_kwargs))
    return GlimpseSB3VecEnv(vector, action, logit_scale, stride, confidence)

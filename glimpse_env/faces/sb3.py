"""A Stable-Baselines3 VecEnv that steps the batched core directly (no per-env Python objects).

SB3's VecEnv API differs from gymnasium's vector API: episodes restart in the same step, the
last observation of an episode goes in ``infos[i]["terminal_observation"]``, and infos are a
list of dicts. :class:`GlimpseSB3VecEnv` translates a
:class:`~glimpse_env.faces.vector.GlimpseVectorEnv` run in ``same_step`` autoreset mode, with
the actions of :mod:`glimpse_env.faces.wrappers` (``"flat"`` Box or ``"discrete"``) decoded for
the whole batch at once.

Infos: ``infos[i]["label"]`` (int) at every step, the true class of the episode env ``i``'s
action was taken in (a training signal for learners, never part of the observation). Where an
episode ended: ``terminal_observation``, ``TimeLimit.truncated``, ``episode`` (``{"r": return,
"l": length, "t": seconds since the adapter was made}``, as SB3's ``Monitor`` gives it, so SB3
logs ``ep_rew_mean`` and ``evaluate_policy`` reads it), and where it terminated ``correct`` and
``belief``.

>>> from glimpse_env.faces.sb3 import make_sb3_vec_env
>>> venv = make_sb3_vec_env("GlimpseEnv-v0", num_envs=8, action="discrete",
...                         split="test")  # doctest: +SKIP
>>> from stable_baselines3 import DQN
>>> DQN("MultiInputPolicy", venv).learn(1_000)  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnv

from glimpse_env.core.learning import prediction_loss
from glimpse_env.faces.vector import GlimpseVectorEnv
from glimpse_env.faces.wrappers import ActionCodec
from glimpse_env.registration import env_kwargs as registered_env_kwargs

__all__ = ["GlimpseSB3VecEnv", "make_sb3_vec_env"]


class GlimpseSB3VecEnv(VecEnv):
    """SB3 VecEnv over a batched :class:`~glimpse_env.faces.vector.GlimpseVectorEnv`.

    It keeps the episode statistics of SB3's ``Monitor`` itself (``info["episode"]``), so
    :meth:`env_is_wrapped` answers True for ``Monitor``: wrapping it in ``VecMonitor`` is not
    needed.

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
        self.codec = ActionCodec(env.core, action, logit_scale, stride, confidence)
        env.metadata = {**env.metadata, "autoreset_mode": AutoresetMode.SAME_STEP}
        self.env = env
        self.action_kind = action
        self.logit_scale = logit_scale
        self.confidence = confidence
        self.num_classes = self.codec.num_classes
        self.early_stop = self.codec.early_stop
        if action == "discrete":
            self.grid = self.codec.grid
        self.loss_fn = prediction_loss
        """The env's prediction loss ``(logits (B, n), label (B,)) -> (B,)``, differentiable."""
        self.render_mode = env.render_mode
        super().__init__(env.num_envs, env.single_observation_space, self.codec.space)
        self._actions: np.ndarray | None = None
        self._t_start = time.time()
        self._returns = np.zeros(self.num_envs, dtype=np.float64)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)

    # -------------------------------------------------------------- stepping

    def reset(self) -> dict[str, np.ndarray]:
        seed = self._seeds[0]
        obs, _ = self.env.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        self._returns[:] = 0.0
        self._lengths[:] = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        if self._actions is None:
            raise RuntimeError("step_async must be called before step_wait")
        actions, self._actions = self._actions, None
        obs, reward, terminated, truncated, info = self.env.step_tensors(
            *self.codec.decode(actions, self.num_envs)
        )
        self._returns += reward
        self._lengths += 1
        dones = terminated | truncated
        labels = info["label"]
        if dones.any():
            labels = np.where(dones, info["final_info"]["label"], labels)
        infos: list[dict[str, Any]] = [{"label": label} for label in labels.tolist()]
        for i in np.flatnonzero(dones):
            final = info["final_info"]
            infos[i]["terminal_observation"] = info["final_obs"][i]
            infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
            infos[i]["episode"] = {
                "r": round(float(self._returns[i]), 6),
                "l": int(self._lengths[i]),
                "t": round(time.time() - self._t_start, 6),
            }
            if terminated[i]:
                infos[i]["correct"] = bool(final["correct"][i])
                infos[i]["belief"] = final["belief"][i]
        self._returns[dones] = 0.0
        self._lengths[dones] = 0
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
        """True for SB3's ``Monitor`` only: this adapter gives its episode statistics itself."""
        return [wrapper_class is Monitor for _ in self._targets(indices)]

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

"""GlimpseVectorEnv: the gymnasium VectorEnv, ``num_envs`` episodes as one batch of the core."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from glimpse_env.core.actions import action_space, observation_space, parse_action
from glimpse_env.core.batched import EpisodeState, GlimpseCore, StepResult
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.learning import prediction_loss
from glimpse_env.faces.env import end_of_episode_info, observation_from_state
from glimpse_env.pictures.render import EpisodeRenderer

__all__ = ["GlimpseVectorEnv"]


def _masked(values: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """Gymnasium's vector info layout: every key beside a ``_key`` boolean mask ``(N,)``.

    Rows outside the mask are zeros, as :class:`gymnasium.vector.SyncVectorEnv` leaves them.
    """
    info: dict[str, np.ndarray] = {}
    for key, value in values.items():
        rows = mask.reshape(-1, *([1] * (value.ndim - 1)))
        info[key] = np.where(rows, value, np.zeros((), dtype=value.dtype))
        info[f"_{key}"] = mask.copy()
    return info


def _label_info(state: EpisodeState) -> dict[str, np.ndarray]:
    """``label (N,)`` int64 of every env's episode, and its all-true ``_label`` mask."""
    label = state.label.cpu().numpy()
    return {"label": label, "_label": np.ones(len(label), dtype=bool)}


def _ended_info(
    state: EpisodeState, result: StepResult, terminated: np.ndarray
) -> dict[str, np.ndarray]:
    """``correct`` and ``belief`` of the episodes that terminated, masked as gymnasium's."""
    ended = end_of_episode_info(state, result)
    return _masked({"correct": ended["correct"], "belief": ended["belief"]}, terminated)


class GlimpseVectorEnv(VectorEnv):
    """``num_envs`` glimpse episodes stepped as one batch (no Python loop over the envs).

    Made by ``gym.make_vec(id, num_envs=N, vectorization_mode="vector_entry_point", **kwargs)``
    with the same kwargs as :class:`~glimpse_env.faces.env.GlimpseEnv`. Spaces, rewards and episodes
    are those of the single env, batched; actions are dicts of arrays with a leading ``N``.

    Autoreset: ``autoreset_mode="next_step"`` (gymnasium's default) resets a finished env on the
    step after the one that ended it (that step's reward is 0 and its action ignored);
    ``"same_step"`` resets at once and puts the last observation and info in
    ``info["final_obs"]`` / ``info["final_info"]``.

    Infos, as :class:`gymnasium.vector.SyncVectorEnv` batches the single env's: ``label``
    ``(N,)`` int64 at reset and every step (the class of the episode each env's observation
    belongs to; a training signal for learners, never part of the observation) with an all-true
    ``_label``; where an episode terminated, ``correct`` ``(N,)`` bool and ``belief`` ``(N, n)``
    float32 with ``_correct`` / ``_belief`` masks (zeros elsewhere). Rewards are float64,
    terminations and truncations bool. ``loss_fn`` is the prediction loss
    (:func:`glimpse_env.core.learning.prediction_loss`).

    Seeding: ``reset(seed=s)`` seeds one generator for the whole batch, so env 0 of a
    ``num_envs=1`` vector env plays exactly the episodes of ``GlimpseEnv`` reset with ``seed=s``.
    One seed per env cannot be honoured by one generator: a list of seeds is refused (unless it
    is all None, or has the one entry of a one-env batch).

    Rendering: with ``render_mode="rgb_array"`` :meth:`render` returns one ``(H, W, 3)`` uint8
    frame, a grid of the frames of the first ``render_envs`` envs (row-major, as many columns
    as rows or one more); ``"human"`` shows that grid in a pygame window on every step. With
    ``autoreset_mode="same_step"`` a finished episode's tile is replaced by the next episode at
    once, so its last frame is not shown.

    Args:
        num_envs: the batch size.
        max_episode_steps: truncate episodes after this many steps (None: never; episodes end
            after ``num_glimpses`` steps anyway).
        autoreset_mode: ``"next_step"`` or ``"same_step"`` (or an ``AutoresetMode``).
        render_mode: as the single env.
        render_envs: how many envs (the first) :meth:`render` draws, at most ``num_envs``.
        **kwargs: the fields of :class:`~glimpse_env.core.config.GlimpseConfig`.
    """

    metadata: dict[str, Any] = {
        "render_modes": ["human", "rgb_array"],
        "render_fps": 4,
        "autoreset_mode": None,
    }

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        autoreset_mode: str | AutoresetMode = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
        render_envs: int = 4,
        **kwargs: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        modes = {"next_step": AutoresetMode.NEXT_STEP, "same_step": AutoresetMode.SAME_STEP}
        mode = modes.get(autoreset_mode, autoreset_mode)
        if mode not in modes.values():
            raise ValueError(
                f"autoreset_mode must be 'next_step' or 'same_step', got {autoreset_mode!r}"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.metadata = {**self.metadata, "autoreset_mode": mode}
        self.render_mode = render_mode
        self.num_envs = num_envs
        self.max_episode_steps = max_episode_steps
        self.config = GlimpseConfig.from_kwargs(**kwargs)
        self.core = GlimpseCore(self.config)
        self.single_observation_space = observation_space(self.core.glimpse_shape)
        self.single_action_space = action_space(self.core.num_classes, self.config.early_stop)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.loss_fn = prediction_loss
        """The prediction loss ``(logits (B, n), label (B,)) -> (B,)``, differentiable."""
        self._generator = torch.Generator(device=self.core.device)
        self._seeded = False
        self.state: EpisodeState | None = None
        self._autoreset = torch.zeros(num_envs, dtype=torch.bool, device=self.core.device)
        self.renderer: EpisodeRenderer | None = None
        if render_mode is not None:
            if isinstance(render_envs, bool) or not isinstance(render_envs, int) or render_envs < 1:
                raise ValueError(f"render_envs must be a positive int, got {render_envs!r}")
            rows = min(render_envs, num_envs)
            self.renderer = EpisodeRenderer(
                self.core, render_mode, rows, window_title=self.core.dataset_name
            )

    @property
    def classes(self) -> tuple[str, ...]:
        return self.core.classes

    def reset(
        self,
        *,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Reset every env; ``seed`` (one int) seeds the batch's one generator.

        Raises:
            ValueError: a list of seeds that would need one generator per env.
        """
        seed = self._batch_seed(seed)
        super().reset(seed=seed)
        if seed is not None:
            self._generator.manual_seed(int(seed))
        elif not self._seeded:
            self._generator.manual_seed(int(self.np_random.integers(2**62)))
        self._seeded = True
        self.state = self.core.reset(self._generator, batch_size=self.num_envs)
        self._autoreset.zero_()
        if self.renderer is not None:
            self.renderer.on_reset(self.state)
            self._render_human()
        return observation_from_state(self.state), _label_info(self.state)

    def _batch_seed(self, seed: Any) -> int | None:
        """The one int (or None) that seeds the batch; refuses per-env seeds it cannot honour."""
        if not isinstance(seed, (list, tuple)):
            if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
                raise ValueError(f"seed must be an int, None or a list, got {seed!r}")
            return seed
        if len(seed) != self.num_envs:
            raise ValueError(
                f"a list of seeds needs num_envs={self.num_envs} entries, got {len(seed)}"
            )
        if all(s is None for s in seed):
            return None
        if self.num_envs == 1:
            return self._batch_seed(seed[0])
        raise ValueError(
            f"GlimpseVectorEnv draws all {self.num_envs} envs from one generator and cannot "
            f"honour one seed per env ({list(seed)}): pass one int, reset(seed={seed[0]}), or "
            "use vectorization_mode='sync'"
        )

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        location, logits, stop = parse_action(
            actions, self.core.num_classes, self.config.early_stop, self.num_envs, self.core.device
        )
        return self.step_tensors(location, logits, stop)

    def step_tensors(
        self, location: torch.Tensor, logits: torch.Tensor, stop: torch.Tensor | None = None
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """:meth:`step` from validated tensors: location (N, 2), logits (N, n), stop (N,)."""
        assert self.state is not None
        state, result = self.core.step(self.state, location, logits, stop)
        terminated, reward = result.terminated, result.reward
        truncated = torch.zeros_like(terminated)
        if self.max_episode_steps is not None:
            truncated = (state.steps >= self.max_episode_steps) & ~terminated
        done = terminated | truncated
        if self.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP:
            restart = self._autoreset
            if self.renderer is not None:
                self.renderer.on_step(state, result, ~restart)
            state = self.core.reset_where(state, restart, self._generator)
            if self.renderer is not None:
                self.renderer.on_reset(state, restart)
            reward = torch.where(restart, torch.zeros_like(reward), reward)
            done = done & ~restart
            terminated, truncated = terminated & ~restart, truncated & ~restart
            info = _label_info(state)  # restarted rows: the new episode's, as reset's info
            if terminated.any():
                info.update(_ended_info(state, result, terminated.cpu().numpy()))
            self.state, self._autoreset = state, done
            obs = observation_from_state(state)
        else:  # SAME_STEP: report the finished episodes, then restart them now
            ended = state
            self.state = self.core.reset_where(state, done, self._generator)
            info = _label_info(self.state)  # restarted rows: the new episode's, as reset's info
            if done.any():
                mask = done.cpu().numpy()
                final_obs = observation_from_state(ended)
                objects = np.full(self.num_envs, None, dtype=object)
                for i in np.flatnonzero(mask):
                    objects[i] = {key: value[i] for key, value in final_obs.items()}
                final_info = _masked({"label": ended.label.cpu().numpy()}, mask)
                final_info.update(_ended_info(ended, result, terminated.cpu().numpy()))
                info.update(
                    final_obs=objects,
                    _final_obs=mask.copy(),
                    final_info=final_info,
                    _final_info=mask.copy(),
                )
            if self.renderer is not None:
                self.renderer.on_step(ended, result)
                self.renderer.on_reset(self.state, done)
            obs = observation_from_state(self.state)
        self._render_human()
        return (
            obs,
            reward.to(torch.float64).cpu().numpy(),
            terminated.cpu().numpy(),
            truncated.cpu().numpy(),
            info,
        )

    def render(self) -> np.ndarray | None:
        """The frames of the first ``render_envs`` envs as one grid, ``(H, W, 3)`` uint8.

        In ``human`` mode the grid is drawn in the window and None is returned.
        """
        if self.renderer is None:
            gym.logger.warn(
                "render() called with render_mode=None; make the vector env with "
                'render_mode="rgb_array" or "human"'
            )
            return None
        return self.renderer.render(self.metadata["render_fps"])

    def _render_human(self) -> None:
        if self.render_mode == "human":
            self.render()

    def close_extras(self, **kwargs: Any) -> None:
        """Close the pygame window, if one is open."""
        if self.renderer is not None:
            self.renderer.close()

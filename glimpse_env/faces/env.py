"""GlimpseEnv: the single gymnasium.Env, a batch of one over the core
(:mod:`glimpse_env.core.batched`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from glimpse_env.core.actions import action_space, observation_space, parse_action
from glimpse_env.core.batched import EpisodeState, GlimpseCore, StepResult
from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.learning import prediction_loss
from glimpse_env.pictures.render import EpisodeRenderer

__all__ = ["GlimpseEnv", "end_of_episode_info", "observation_from_state"]


def observation_from_state(state: EpisodeState) -> dict[str, np.ndarray]:
    """Batched observation dict of numpy arrays: glimpse ``(B, S*C, P, P)``, location ``(B, 2)``.

    The arrays are copies: a caller who changes them in place cannot change the env's state.
    """
    return {
        "glimpse": state.glimpse.cpu().numpy().copy(),
        "location": state.location.cpu().numpy().copy(),
    }


def end_of_episode_info(state: EpisodeState, result: StepResult) -> dict[str, np.ndarray]:
    """Batched end-of-episode info: ``label (B,)`` int64, ``correct (B,)`` bool, ``belief (B, n)``.

    ``label`` is the label of ``state``'s episodes: pass the state the step ended in.
    """
    return {
        "label": state.label.cpu().numpy(),
        "correct": result.correct.cpu().numpy(),
        "belief": result.belief.cpu().numpy(),
    }


class GlimpseEnv(gym.Env):
    """Classify an image by looking at it through a small, movable, multi-resolution glimpse.

    An image (or a canvas with the image pasted somewhere, maybe with clutter) is drawn; the agent
    sees only a glimpse of ``S`` concentric squares around a location, each reduced to ``P x P``.
    At each step it says where to look next and what class it believes; after ``T`` glimpses
    the belief of the last step is its guess.

    ## Action Space

    ``Dict(location=Box(-1, 1, (2,)), logits=Box(-inf, inf, (n,)))``, plus ``stop=Discrete(2)``
    with ``early_stop=True``. ``location`` is ``(x, y)``: ``(-1, -1)`` the top-left corner,
    ``(1, 1)`` the bottom-right, ``x`` the column; values outside [-1, 1] are clipped. ``logits``
    are the class belief (softmax), whose argmax at the last step is the guess. For algorithms
    that need one Box or one Discrete action, see :mod:`glimpse_env.faces.wrappers`.

    ## Observation Space

    ``Dict(glimpse=Box(0, 1, (S*C, P, P), float32), location=Box(-1, 1, (2,), float32))``: the
    glimpse (channel ``s*C + c`` is scale ``s`` of colour channel ``c``; scale ``s`` covers
    ``P*k^s`` pixels, zero outside the image) and where it was taken.

    ## Rewards

    A plugin (:mod:`glimpse_env.core.rewards`): ``correct`` (default: 1 for a right final guess),
    ``correct_entropy``, ``information_gain``, a registered name or any ``Reward`` object.

    ## Starting State

    A random image of the split (on a canvas at a random position when ``canvas_size`` is set);
    the first glimpse at a uniform random location in [-1, 1]^2, or the centre with
    ``initial_location="center"``.

    ## Episode End

    Terminates at step ``T`` (``num_glimpses``): ``T`` glimpses are seen in ``T`` steps (the first
    at reset), or earlier at a step whose ``stop`` is 1 with ``early_stop=True``. Never truncated
    by the env itself. A step after the end, without a reset, raises RuntimeError.

    ## Info

    ``info["label"]`` (int) at reset and at every step: the true class of the episode, a training
    signal for *learners* (never part of the observation; a policy that reads it cheats). The
    final step's ``info`` adds ``correct`` (bool) and ``belief`` (``(n,)`` float32).

    ## Learners

    ``env.unwrapped.loss_fn(logits (B, n), label (B,)) -> (B,)`` is the env's prediction loss,
    differentiable (:func:`glimpse_env.core.learning.prediction_loss`, cross-entropy), as
    active-perception-gym offers it: a hybrid learner trains its class belief by it and only
    the location by RL.

    ## Arguments

    Every field of :class:`~glimpse_env.core.config.GlimpseConfig` (dataset, split, data_root,
    download, canvas_size, clutter, clutter_size, num_glimpses, patch_size, num_scales,
    scale_factor, initial_location, reward, reward_kwargs, early_stop, fixed_canvases,
    canvas_seed, device), plus ``render_mode``. Unknown names raise ValueError.

    ## Rendering

    ``render_mode="rgb_array"``: :meth:`render` returns an ``(H, W, 3)`` uint8 frame (the image
    enlarged with the squares of every scale, the numbered path of earlier locations, the
    glimpse patches, the belief bars; see :mod:`glimpse_env.pictures.render`). ``"human"``: the same
    picture in a pygame window at ``metadata["render_fps"]``, redrawn on every reset and step.
    With ``render_mode=None`` no history is kept.

    ## Example

    >>> import gymnasium as gym, glimpse_env, torch
    >>> from glimpse_env.data import ImageDataset
    >>> data = ImageDataset(torch.zeros(10, 1, 28, 28, dtype=torch.uint8), torch.arange(10),
    ...                     classes=tuple("0123456789"))
    >>> env = gym.make("GlimpseEnv-v0", dataset=data)
    >>> obs, info = env.reset(seed=0)
    >>> obs["glimpse"].shape
    (1, 8, 8)
    >>> for t in range(6):
    ...     obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    >>> terminated, sorted(info)
    (True, ['belief', 'correct', 'label'])
    >>> loss = env.unwrapped.loss_fn(torch.zeros(1, 10), torch.tensor([info["label"]]))
    >>> round(float(loss[0]), 4)  # log 10: a uniform belief
    2.3026
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 4}

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        self.config = GlimpseConfig.from_kwargs(**kwargs)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.core = GlimpseCore(self.config)
        self.observation_space = observation_space(self.core.glimpse_shape)
        self.action_space = action_space(self.core.num_classes, self.config.early_stop)
        self.loss_fn = prediction_loss
        """The prediction loss ``(logits (B, n), label (B,)) -> (B,)``, differentiable."""
        self._generator = torch.Generator(device=self.core.device)
        self._seeded = False
        self.state: EpisodeState | None = None
        self._ended = False
        self.renderer: EpisodeRenderer | None = None
        if render_mode is not None:
            self.renderer = EpisodeRenderer(
                self.core, render_mode, window_title=self.core.dataset_name
            )

    @property
    def classes(self) -> tuple[str, ...]:
        return self.core.classes

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start an episode. ``options={"index": i}`` picks image ``i`` of the split."""
        super().reset(seed=seed)
        if seed is not None:
            self._generator.manual_seed(seed)
        elif not self._seeded:
            self._generator.manual_seed(int(self.np_random.integers(2**62)))
        self._seeded = True
        index = None
        if options and "index" in options:
            index = torch.tensor([int(options["index"])])
        self.state = self.core.reset(self._generator, batch_size=1, index=index)
        self._ended = False
        if self.renderer is not None:
            self.renderer.on_reset(self.state)
            if self.render_mode == "human":
                self.render()
        return self._observation(), {"label": int(self.state.label[0])}

    def step(
        self, action: dict[str, Any]
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        if self._ended:
            raise RuntimeError(
                "the episode has ended (a step returned terminated=True): call reset() before "
                "step()"
            )
        location, logits, stop = parse_action(
            action, self.core.num_classes, self.config.early_stop, device=self.core.device
        )
        self.state, result = self.core.step(self.state, location, logits, stop)
        if self.renderer is not None:
            self.renderer.on_step(self.state, result)
            if self.render_mode == "human":
                self.render()
        terminated = bool(result.terminated[0])
        self._ended = terminated
        info: dict[str, Any] = {"label": int(self.state.label[0])}
        if terminated:
            batch_info = end_of_episode_info(self.state, result)
            info["correct"] = bool(batch_info["correct"][0])
            info["belief"] = batch_info["belief"][0]
        return self._observation(), float(result.reward[0]), terminated, False, info

    def render(self) -> np.ndarray | None:
        """The frame ``(H, W, 3)`` uint8 (``rgb_array``), or draw it in the window (``human``).

        Before the first reset the frame is empty but has the same size.
        """
        if self.renderer is None:
            gym.logger.warn(
                "render() called with render_mode=None; make the env with "
                'render_mode="rgb_array" or "human"'
            )
            return None
        return self.renderer.render(self.metadata["render_fps"])

    def close(self) -> None:
        """Close the pygame window, if one is open."""
        if self.renderer is not None:
            self.renderer.close()
        super().close()

    def _observation(self) -> dict[str, np.ndarray]:
        assert self.state is not None
        return {key: value[0] for key, value in observation_from_state(self.state).items()}

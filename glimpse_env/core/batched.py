"""The batched episode logic on tensors: the one implementation every face of the env steps.

:class:`GlimpseCore` holds what is fixed for an environment's life (the dataset on the device,
the sensor geometry, the reward, the canvas maker: gymnax's "params"); :class:`EpisodeState`
holds a batch of ``B`` running episodes. The core's methods are functions of the two plus an
explicit ``torch.Generator``; they return new states and never loop over the batch in Python.

The single env (:class:`glimpse_env.faces.env.GlimpseEnv`) is a batch of one over this core, the
vector env (:class:`glimpse_env.faces.vector.GlimpseVectorEnv`) a batch of ``num_envs``, and the RAM
trainer calls it directly with tensors that stay on the device.

Episode, as in ``DESIGN.md``: reset draws an image (and its canvas) and shows glimpse 1 at the
initial location. Each step sends ``(location, logits)``; steps ``1..T-1`` move the glimpse,
step ``T`` (or a step with ``stop`` when early stop is on) ends the episode, and the belief sent
at that step is the guess. ``T`` glimpses are seen in ``T`` steps; the observation returned with
the last step repeats the last glimpse.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import torch

from glimpse_env.core.config import GlimpseConfig
from glimpse_env.core.rewards import RewardInput, checked_reward, make_reward
from glimpse_env.core.sensor import glimpse_from_integral, integral_image
from glimpse_env.data.canvas import CanvasSpec, make_canvases, sample_canvas_params
from glimpse_env.data.catalog import ImageDataset, load_dataset

__all__ = ["EpisodeState", "GlimpseCore", "StepResult"]


@dataclass(frozen=True)
class EpisodeState:
    """A batch of ``B`` running episodes (all tensors on the core's device).

    Attributes:
        index: ``(B,)`` int64, the image's index in the split.
        label: ``(B,)`` int64, the true class.
        canvas: ``(B, C, H, W)`` uint8, the image (or canvas) the agent looks at.
        table: ``(B, C, H+1, W+1)``, its summed-area table (built once per episode).
        t: ``(B,)`` int64, glimpses seen so far (1 after reset).
        steps: ``(B,)`` int64, steps taken so far (0 after reset).
        location: ``(B, 2)`` float32, where the current glimpse was taken.
        glimpse: ``(B, S*C, P, P)`` float32, the current glimpse.
        log_belief: ``(B, n)`` float32, log-probabilities of the last belief (uniform at reset).
    """

    index: torch.Tensor
    label: torch.Tensor
    canvas: torch.Tensor
    table: torch.Tensor
    t: torch.Tensor
    steps: torch.Tensor
    location: torch.Tensor
    glimpse: torch.Tensor
    log_belief: torch.Tensor

    @property
    def batch_size(self) -> int:
        return self.label.shape[0]


@dataclass(frozen=True)
class StepResult:
    """What one step returns besides the new state (all ``(B, ...)`` tensors).

    Attributes:
        reward: ``(B,)`` float32.
        terminated: ``(B,)`` bool, the episode ended at this step.
        correct: ``(B,)`` bool, the argmax of this step's belief is the true class.
        belief: ``(B, n)`` float32, this step's belief as probabilities.
    """

    reward: torch.Tensor
    terminated: torch.Tensor
    correct: torch.Tensor
    belief: torch.Tensor


class GlimpseCore:
    """The batched environment logic for one :class:`~glimpse_env.core.config.GlimpseConfig`.

    Args:
        config: the parameters; see :class:`~glimpse_env.core.config.GlimpseConfig`.

    Example:
        >>> import torch
        >>> from glimpse_env.core.config import GlimpseConfig
        >>> from glimpse_env.data import ImageDataset
        >>> data = ImageDataset(torch.zeros(4, 1, 28, 28, dtype=torch.uint8),
        ...                     torch.tensor([0, 1, 2, 3]), classes=tuple("0123456789"))
        >>> core = GlimpseCore(GlimpseConfig(dataset=data, num_glimpses=2))
        >>> gen = torch.Generator().manual_seed(0)
        >>> state = core.reset(gen, batch_size=3)
        >>> state.glimpse.shape
        torch.Size([3, 1, 8, 8])
        >>> state, out = core.step(state, torch.zeros(3, 2), torch.zeros(3, 10))
        >>> state, out = core.step(state, torch.zeros(3, 2), torch.zeros(3, 10))
        >>> out.terminated.tolist()
        [True, True, True]
    """

    def __init__(self, config: GlimpseConfig) -> None:
        self.config = config
        self.device = torch.device(config.device)
        if isinstance(config.dataset, ImageDataset):
            data = config.dataset
        else:
            data = load_dataset(config.dataset, config.split, config.data_root, config.download)
        self.dataset_name = data.name
        self.classes = data.classes
        self.images = data.images.to(self.device)  # (N, C, h, w) uint8
        self.labels = data.labels.to(self.device)  # (N,)
        self.reward_fn = make_reward(config.reward, config.reward_kwargs)
        channels, height, width = self.images.shape[1:]
        self.canvas_spec: CanvasSpec | None = None
        self.fixed_canvas_params = None
        if config.canvas_size is not None:
            self.canvas_spec = CanvasSpec(config.canvas_size, config.clutter, config.clutter_size)
            self.canvas_spec.check((height, width))
            height = width = config.canvas_size
            if config.fixed_canvases:
                gen = torch.Generator(device=self.device).manual_seed(config.canvas_seed)
                self.fixed_canvas_params = self._sample_canvas_params(len(self.labels), gen)
        self.canvas_shape = (int(channels), int(height), int(width))

    # ----------------------------------------------------------------- shapes

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def num_images(self) -> int:
        return len(self.labels)

    @property
    def glimpse_shape(self) -> tuple[int, int, int]:
        """``(S*C, P, P)``: one observation's glimpse."""
        c = self.config
        return (c.num_scales * self.canvas_shape[0], c.patch_size, c.patch_size)

    # ----------------------------------------------------------------- episode logic

    def _sample_canvas_params(self, batch: int, generator: torch.Generator):
        assert self.canvas_spec is not None
        return sample_canvas_params(
            batch, self.canvas_spec, tuple(self.images.shape[2:]), self.num_images, generator
        )

    def canvases(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The images to look at for dataset indices ``(B,)``: ``(B, C, H, W)`` uint8."""
        images = self.images[index]
        if self.canvas_spec is None:
            return images
        if self.fixed_canvas_params is not None:
            params = self.fixed_canvas_params[index]
        else:
            params = self._sample_canvas_params(len(index), generator)
        return make_canvases(images, params, self.canvas_spec, self.images)

    def glimpse(self, table: torch.Tensor, location: torch.Tensor) -> torch.Tensor:
        """Glimpses ``(B, S*C, P, P)`` at ``location`` ``(B, 2)`` from summed-area tables."""
        c = self.config
        return glimpse_from_integral(table, location, c.patch_size, c.num_scales, c.scale_factor)

    def reset(
        self,
        generator: torch.Generator,
        batch_size: int | None = None,
        index: torch.Tensor | None = None,
    ) -> EpisodeState:
        """Start ``batch_size`` new episodes on random images, or on the images ``index`` ``(B,)``.

        Draws, in this order from ``generator``: the image indices (unless given), the canvases'
        randomness (unless fixed), the initial locations (if random).
        """
        if index is None:
            if batch_size is None:
                raise ValueError("reset needs batch_size or index")
            index = torch.randint(
                0, self.num_images, (batch_size,), generator=generator, device=self.device
            )
        else:
            index = torch.as_tensor(index, dtype=torch.int64, device=self.device)
            if index.ndim != 1 or (
                len(index) and (index.min() < 0 or index.max() >= self.num_images)
            ):
                raise ValueError(f"index must be a (B,) tensor of ints in [0, {self.num_images})")
        batch = len(index)
        canvas = self.canvases(index, generator)
        table = integral_image(canvas)
        if self.config.initial_location == "random":
            location = torch.rand(batch, 2, generator=generator, device=self.device) * 2 - 1
        else:
            location = torch.zeros(batch, 2, device=self.device)
        n = self.num_classes
        zeros = torch.zeros(batch, dtype=torch.int64, device=self.device)
        return EpisodeState(
            index=index,
            label=self.labels[index],
            canvas=canvas,
            table=table,
            t=zeros + 1,
            steps=zeros,
            location=location,
            glimpse=self.glimpse(table, location),
            log_belief=torch.full((batch, n), -math.log(n), device=self.device),
        )

    def step(
        self,
        state: EpisodeState,
        location: torch.Tensor,
        logits: torch.Tensor,
        stop: torch.Tensor | None = None,
    ) -> tuple[EpisodeState, StepResult]:
        """Advance every episode of the batch by one step.

        Args:
            state: the running episodes.
            location: ``(B, 2)`` where to look next; clipped to ``[-1, 1]`` (ignored at the last
                step).
            logits: ``(B, n)`` the class belief (any real numbers; softmax gives the belief).
            stop: ``(B,)`` bool, end the episode now (only with ``early_stop=True``).

        Returns:
            ``(new_state, result)``. Episodes that terminate keep their last glimpse; restart
            them with :meth:`reset_where`.
        """
        log_belief = torch.log_softmax(logits.to(torch.float32), dim=-1)
        terminal = state.t >= self.config.num_glimpses
        if stop is not None and self.config.early_stop:
            terminal = terminal | stop.to(torch.bool)
        step = RewardInput(log_belief, state.log_belief, state.label, terminal, state.t)
        reward = checked_reward(self.reward_fn, step)
        location = location.to(device=self.device, dtype=torch.float32).clamp(-1.0, 1.0)
        moved = ~terminal
        # Episodes of one batch usually move or end together: skip the merge (or the glimpse).
        if bool(moved.all()):
            new_location, glimpse = location, self.glimpse(state.table, location)
        elif not bool(moved.any()):
            new_location, glimpse = state.location, state.glimpse
        else:
            new_location = torch.where(moved[:, None], location, state.location)
            glimpse = torch.where(
                moved[:, None, None, None], self.glimpse(state.table, new_location), state.glimpse
            )
        new_state = replace(
            state,
            t=state.t + moved.long(),
            steps=state.steps + 1,
            location=new_location,
            glimpse=glimpse,
            log_belief=log_belief,
        )
        result = StepResult(
            reward=reward,
            terminated=terminal,
            correct=log_belief.argmax(-1) == state.label,
            belief=log_belief.exp(),
        )
        return new_state, result

    def reset_where(
        self, state: EpisodeState, mask: torch.Tensor, generator: torch.Generator
    ) -> EpisodeState:
        """New episodes in the rows where ``mask`` ``(B,)`` is true; the other rows unchanged."""
        rows = mask.nonzero(as_tuple=True)[0]
        if len(rows) == 0:
            return state
        fresh = self.reset(generator, batch_size=len(rows))
        if len(rows) == state.batch_size:  # every episode restarts (they all have T steps)
            return fresh
        merged = {}
        for f in fields(EpisodeState):
            old = getattr(state, f.name)
            merged[f.name] = old.index_copy(0, rows, getattr(fresh, f.name))
        return EpisodeState(**merged)

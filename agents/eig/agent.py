"""EIGAgent: a trained EIG model as a policy for a plain gymnasium loop (SB3's ``predict``).

A trained agent comes from ``EIGAgent.from_checkpoint("runs/eig/p3/last.pt")``; here, to run
as printed, an untrained small model on random 28x28 images:

>>> import gymnasium as gym, glimpse_env
>>> from agents.eig.model import EIGConfig
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8),
...                     torch.arange(8) % 10, classes=tuple("0123456789"))
>>> env = gym.make("GlimpseEnv-v0", dataset=data)
>>> model = EIGModel(EIGConfig(canvas_size=28, num_classes=10, cnn_channels=4, feature_size=16,
...                            hidden_size=32, latent_size=4, flow_layers=2, decoder_channels=8))
>>> agent = EIGAgent(model, num_samples=4)
>>> obs, info = env.reset(seed=0)
>>> state, done = None, False
>>> while not done:
...     action, state = agent.predict(obs, state)
...     obs, reward, done, truncated, info = env.step(action)
>>> agent.eig_map.shape  # (G, G): the EIG of every cell, the map that chose the last location
(6, 6)
>>> int(agent.visited.sum())  # six glimpses, six different cells
6

The state passed back is ``(h, visited)``: the recurrent state ``(B, H)`` and the cells seen so
far ``(B, L)``; ``episode_start`` (a bool per env) clears it where an episode starts. The action's
location is always a cell of the env's discrete grid; its logits are the belief after the glimpse
just seen (the guess, at the last step).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.eig.checkpoint import load_checkpoint, load_model
from agents.eig.lookahead import expected_information_gain, masked_argmax, nearest_cell
from agents.eig.model import EIGModel
from agents.observations import observation_tensors

__all__ = ["AgentState", "EIGAgent", "load_policy"]

AgentState = tuple[np.ndarray, np.ndarray]
"""``(h (B, H) float32, visited (B, L) bool)``."""


class EIGAgent:
    """A trained EIG model that acts in a glimpse env.

    Args:
        model: the model (its grid must be the env's).
        device: where it runs.
        num_samples: ``P``, latent samples per lookahead (the paper's 20).
        seed: seed of the lookahead's samples (the same seed, the same choices).
        env_id: the env it was trained on (informative).
        env_kwargs: that env's kwargs (informative).

    Attributes:
        eig_map: ``(G, G)`` (``(B, G, G)`` for a batch) float32, the EIG of every cell computed
            by the last :meth:`predict`; None before the first.
        visited: ``(L,)`` / ``(B, L)`` bool, the cells seen when it was computed.
        chosen: the cell (``r * G + c``) it chose, int or ``(B,)``.
    """

    def __init__(
        self,
        model: EIGModel,
        device: str | torch.device = "cpu",
        num_samples: int = 20,
        seed: int = 0,
        env_id: str | None = None,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.num_samples = num_samples
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.eig_map: np.ndarray | None = None
        self.visited: np.ndarray | None = None
        self.chosen: int | np.ndarray | None = None

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        device: str | torch.device = "cpu",
        num_samples: int = 20,
        seed: int = 0,
    ) -> EIGAgent:
        """Load ``last.pt`` of ``glimpse-env train eig`` (phase 2 or 3).

        Raises:
            FileNotFoundError: no such file.
            agents.eig.checkpoint.CheckpointError: a corrupt or foreign file.
        """
        data = load_checkpoint(path, device=device)
        model = load_model(data, device, source=str(path))
        return cls(model, device, num_samples, seed, data["env_id"], data["env_kwargs"])

    @property
    def grid(self) -> np.ndarray:
        """``(L, 2)`` the candidate locations (the env's discrete grid)."""
        return self.model.grid.cpu().numpy()

    @property
    def grid_size(self) -> int:
        return self.model.config.grid_size

    def _tensors(self, obs: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """``(glimpse (B, S*C, P, P), location (B, 2), batched)`` tensors from an obs dict."""
        shape = tuple(self.model.config.glimpse_shape)
        return observation_tensors(obs, shape, self.device, self.env_id)

    @torch.no_grad()
    def predict(
        self,
        obs: Mapping[str, Any],
        state: AgentState | None = None,
        episode_start: np.ndarray | bool | None = None,
        deterministic: bool = True,
    ) -> tuple[dict[str, np.ndarray], AgentState]:
        """The action for one observation (or a batch), and the state to pass back.

        Args:
            obs: ``{"glimpse": (S*C, P, P), "location": (2,)}`` or a batch of them.
            state: what the last call returned; None at the start.
            episode_start: ``(B,)`` bools (or one bool): forget the episodes that start here.
            deterministic: accepted for SB3's contract; the choice is always the EIG argmax
                (its estimate is random through the latent samples, seeded by ``seed``).

        Returns:
            ``(action, state)``: ``location`` ``(2,)`` a grid cell, ``logits`` ``(n,)``
            float32 (``(B, 2)``, ``(B, n)`` for a batch).
        """
        glimpse, location, batched = self._tensors(obs)
        batch, cells = len(glimpse), len(self.model.grid)
        h = self.model.initial_state(batch)
        visited = torch.zeros(batch, cells, dtype=torch.bool, device=self.device)
        if state is not None:
            if np.shape(state[0]) != tuple(h.shape) or np.shape(state[1]) != (batch, cells):
                raise ValueError(
                    "state does not fit this agent and batch: pass what predict returned, or None"
                )
            keep = torch.ones(batch, dtype=torch.bool, device=self.device)
            if episode_start is not None:
                starts = np.broadcast_to(np.asarray(episode_start, bool).reshape(-1), (batch,))
                keep = torch.as_tensor(~starts, device=self.device)
            h = torch.as_tensor(state[0], device=self.device) * keep[:, None]
            visited = torch.as_tensor(state[1], device=self.device) & keep[:, None]
        grid = self.model.grid
        visited[torch.arange(batch), nearest_cell(location, grid)] = True
        h, logits = self.model.observe(glimpse, location, h)
        eig = expected_information_gain(self.model, h, self.num_samples, self.generator)
        chosen = masked_argmax(eig, visited)
        g = self.grid_size
        eig_map, seen, cell = (
            eig.reshape(batch, g, g).cpu().numpy(),
            visited.cpu().numpy(),
            chosen.cpu().numpy(),
        )
        self.eig_map, self.visited, self.chosen = (
            (eig_map, seen, cell) if batched else (eig_map[0], seen[0], int(cell[0]))
        )
        action = {
            "location": grid[chosen].cpu().numpy().astype(np.float32),
            "logits": logits.cpu().numpy().astype(np.float32),
        }
        if not batched:
            action = {key: value[0] for key, value in action.items()}
        return action, (h.cpu().numpy(), visited.cpu().numpy())


def load_policy(path: Path, env: Any) -> EIGAgent:
    """The ``eig`` policy loader of :mod:`glimpse_env.commands.policies` (``glimpse-env gif``).

    Loads the agent on the CPU, checks that the env's grid is the agent's, and, if the env
    renders, adds the EIG heat map beside its frames (:func:`agents.eig.render.attach_eig_panel`).
    """
    from agents.eig.render import attach_eig_panel

    agent = EIGAgent.from_checkpoint(path, device="cpu")
    core = getattr(getattr(env, "unwrapped", env), "core", None)
    if core is not None and (
        tuple(core.glimpse_shape) != tuple(agent.model.config.glimpse_shape)
        or min(core.canvas_shape[1:]) != agent.model.config.canvas_size
    ):
        raise ValueError(
            f"{path} was trained on {agent.env_id} (glimpses "
            f"{tuple(agent.model.config.glimpse_shape)}, {agent.model.config.canvas_size}px "
            f"images); this env gives {core.glimpse_shape} on {core.canvas_shape[1:]}"
        )
    attach_eig_panel(env, agent)
    return agent

"""RAMAgent: a trained RAM as a policy for a plain gymnasium loop (SB3's ``predict`` contract).

>>> import gymnasium as gym, glimpse_env, torch
>>> from glimpse_env.data import ImageDataset
>>> agent = RAMAgent.from_pretrained("GlimpseEnv-cluttered60-v0")  # shipped with the package
>>> # or a run of yours: RAMAgent.from_checkpoint("runs/ram/best.pt")
>>> data = ImageDataset(torch.zeros(4, 1, 28, 28, dtype=torch.uint8), torch.arange(4),
...                     classes=tuple("0123456789"))  # MNIST: split="test[8000:]"
>>> env = gym.make("GlimpseEnv-cluttered60-v0", dataset=data)
>>> obs, info = env.reset(seed=0)
>>> state, done = None, False
>>> while not done:
...     action, state = agent.predict(obs, state)
...     obs, reward, done, truncated, info = env.step(action)
>>> action["logits"].shape, sorted(info)
((10,), ['belief', 'correct', 'label'])

The recurrent state is returned and passed back, as for SB3's recurrent policies; pass
``episode_start`` (a bool per env) to clear it where an episode starts, or ``state=None`` to
start afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.observations import observation_tensors
from agents.ram.checkpoint import load_checkpoint, load_model
from agents.ram.model import RecurrentAttentionModel

__all__ = ["RAMAgent"]

AgentState = tuple[np.ndarray, ...]
"""The recurrent state between calls: ``(h,)`` or ``(h, c)``, each ``(B, H)`` float32."""


class RAMAgent:
    """A trained recurrent attention model that acts in a glimpse env.

    Args:
        model: the RAM.
        device: where it runs.
        env_id: the env it was trained on (informative).
        env_kwargs: that env's kwargs (informative; ``gym.make(env_id, **env_kwargs)``).
    """

    def __init__(
        self,
        model: RecurrentAttentionModel,
        device: str | torch.device = "cpu",
        env_id: str | None = None,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu") -> RAMAgent:
        """Load ``best.pt`` / ``last.pt`` of ``glimpse-env train ram``.

        Raises:
            FileNotFoundError: no such file.
            agents.ram.checkpoint.CheckpointError: a corrupt or foreign file, or weights that
                do not fit the saved config.
        """
        data = load_checkpoint(path, device=device)
        model = load_model(data, device, source=str(path))
        return cls(model, device, data["env_id"], data["env_kwargs"])

    @classmethod
    def from_pretrained(
        cls,
        env_id: str,
        device: str | torch.device = "cpu",
        directory: str | Path | None = None,
    ) -> RAMAgent:
        """The RAM shipped with the package for ``env_id`` (``agents/ram/pretrained/``).

        ``agents.ram.pretrained.available()`` lists them with their documented test accuracy.

        Args:
            env_id: a registered id, e.g. ``"GlimpseEnv-cluttered60-v0"``.
            device: where it runs.
            directory: another folder of pretrained checkpoints (default: the package's).

        Raises:
            ValueError: none is shipped for ``env_id`` (the message lists the ids that have
                one).
        """
        from agents.ram.pretrained import pretrained_path

        return cls.from_checkpoint(pretrained_path(env_id, directory), device)

    @property
    def num_classes(self) -> int:
        return self.model.config.num_classes

    def _observation(self, obs: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor, bool]:
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
        """The action for one observation (or a batch), and the recurrent state to pass back.

        Args:
            obs: the env's observation: ``{"glimpse": (S*C, P, P), "location": (2,)}``, or a
                batch from the vector env: ``(B, S*C, P, P)`` and ``(B, 2)``.
            state: what the last call returned; None at the start.
            episode_start: ``(B,)`` bools (or one bool): clear the state of the envs whose
                episode starts with this observation.
            deterministic: the policy's mean location; False samples it.

        Returns:
            ``(action, state)``: ``action`` is the native action dict, ``location`` ``(2,)`` and
            ``logits`` ``(n,)`` float32 (``(B, 2)``, ``(B, n)`` for a batch).
        """
        glimpse, location, batched = self._observation(obs)
        batch = len(glimpse)
        hidden = self.model.initial_state(batch, self.device)
        if state is not None:
            expected = [tuple(h.shape) for h in hidden]
            if [np.shape(s) for s in state] != expected:
                raise ValueError(
                    f"state must be {len(expected)} array(s) of shape {expected[0]} for this "
                    "agent and batch: pass the state that predict returned, or None"
                )
            kept = torch.ones(batch, 1, device=self.device)
            if episode_start is not None:
                starts = np.broadcast_to(np.asarray(episode_start, dtype=bool), (batch,))
                kept = torch.as_tensor(~starts, dtype=torch.float32, device=self.device)[:, None]
            hidden = tuple(torch.as_tensor(s, device=self.device) * kept for s in state)
        out = self.model.step(glimpse, location, hidden)
        if deterministic:
            next_location = out.location_mean
        else:
            next_location, _ = self.model.sample_location(out.location_mean)
        action = {
            "location": next_location.cpu().numpy().astype(np.float32),
            "logits": out.logits.cpu().numpy().astype(np.float32),
        }
        if not batched:
            action = {key: value[0] for key, value in action.items()}
        return action, tuple(h.cpu().numpy() for h in out.hidden)

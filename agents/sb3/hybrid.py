"""Hybrid SB3 agents in APPLE's style: one network, a class head trained by the env's supervised
loss beside the RL loss on the location.

Schneider et al. (APPLE, ICLR 2026) find that active perception is learned when the prediction is
trained by its supervised loss and only the sensing action by RL, best with off-policy RL (SAC,
CrossQ). Here the policy's features extractor (:class:`BeliefExtractor`) reads the episode so far
(the history observation of :mod:`agents.sb3.hybrid_env`) into one state, from which both the RL
heads (actor, and for PPO the critic) and a class head read. The class head's logits are the
belief the env receives, and it learns by the env's prediction loss (cross-entropy) against the
labels stored with the transitions (``info["label"]``); the RL loss trains the location.

:class:`HybridSAC`, :class:`HybridCrossQ` and :class:`HybridPPO` are the SB3 / sb3-contrib
algorithms with :class:`ClassHeadTraining` mixed in: after (off-policy) or before (PPO) the
algorithm's own ``train()``, as many supervised steps of the class head and the shared extractor
(their own Adam), on stored observations and their labels:

- off-policy: ``gradient_steps`` batches of ``batch_size`` transitions from the replay buffer;
- PPO: ``n_epochs`` passes over the rollout in minibatches of ``batch_size``.

>>> import torch
>>> from agents.sb3.hybrid_env import make_hybrid_vec_env
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.randint(0, 256, (40, 1, 28, 28), dtype=torch.uint8),
...                     torch.arange(40) % 10, classes=tuple("0123456789"))
>>> venv = make_hybrid_vec_env("GlimpseEnv-v0", num_envs=4, dataset=data)  # or split="test[:8000]"
>>> model = HybridSAC("MlpPolicy", venv, learning_starts=32, seed=0).learn(64)
>>> model.num_timesteps, bool(model.class_loss > 0)  # its class head trained by cross-entropy
(64, True)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib import CrossQ
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import VecEnv

from agents.in_the_loop.classifier import BeliefNet, LossFn, cross_entropy
from agents.sb3.hybrid_env import HistoryLoop, history_size

__all__ = [
    "BeliefExtractor",
    "ClassHeadTraining",
    "HybridCrossQ",
    "HybridPPO",
    "HybridSAC",
    "extractor_kwargs",
]


class BeliefExtractor(BaseFeaturesExtractor):
    """The hybrid's shared network: the episode's history into one state; a class head on it.

    Each history slot ``[glimpse, x, y, seen]`` is encoded by a
    :class:`~agents.in_the_loop.classifier.BeliefNet`'s encoder and the seen ones are summed
    (the state); the class logits are that net's head on the state. The RL features are
    ``[state (H,), current x, y, glimpses seen / T]``.

    Args:
        observation_space: ``Box((D,))``, ``D = S*C*P*P + 2 + T * (S*C*P*P + 3)``.
        glimpse_shape: ``(S*C, P, P)``.
        num_classes: n.
        num_glimpses: T.
        hidden: H.
    """

    def __init__(
        self,
        observation_space: spaces.Box,
        glimpse_shape: list[int],
        num_classes: int,
        num_glimpses: int,
        hidden: int = 128,
    ) -> None:
        pixels = math.prod(glimpse_shape)
        expected = pixels + 2 + history_size(tuple(glimpse_shape), num_glimpses)
        if tuple(observation_space.shape) != (expected,):
            raise ValueError(
                f"BeliefExtractor reads observations of shape ({expected},) (glimpses "
                f"{tuple(glimpse_shape)}, T={num_glimpses}), got {observation_space.shape}"
            )
        super().__init__(observation_space, features_dim=hidden + 3)
        self.pixels = pixels
        self.num_glimpses = num_glimpses
        self.belief = BeliefNet(tuple(glimpse_shape), num_classes, hidden, "sum")

    def memory(self, observations: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` observations -> ``(B, H)`` the summed encodings of the seen slots."""
        width = self.pixels + 3
        slots = observations[:, -self.num_glimpses * width :].reshape(-1, self.num_glimpses, width)
        encoded = self.belief.encode(slots[..., : self.pixels], slots[..., self.pixels : -1])
        return (encoded * slots[..., -1:]).sum(dim=1)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` -> ``(B, H + 3)`` the RL features."""
        slots = observations[:, -self.num_glimpses * (self.pixels + 3) :]
        seen = slots[:, self.pixels + 2 :: self.pixels + 3].sum(dim=1, keepdim=True)
        location = observations[:, self.pixels : self.pixels + 2]
        return torch.cat([self.memory(observations), location, seen / self.num_glimpses], dim=1)

    def classify(self, observations: torch.Tensor) -> torch.Tensor:
        """``(B, D)`` -> ``(B, n)`` the class logits."""
        return self.belief.head(self.memory(observations))


def extractor_kwargs(venv: VecEnv, hidden: int = 128) -> dict[str, Any]:
    """:class:`BeliefExtractor`'s kwargs (JSON) for a hybrid env
    (:func:`agents.sb3.hybrid_env.make_hybrid_vec_env`).

    Raises:
        ValueError: ``venv`` is not a hybrid env (its belief source is not a history).
    """
    inner = venv.unwrapped
    if not isinstance(getattr(inner, "source", None), HistoryLoop):
        raise ValueError(
            "a hybrid agent trains on agents.sb3.hybrid_env.make_hybrid_vec_env(...), got "
            f"{type(inner).__name__}"
        )
    core = inner.env.core
    return {
        "glimpse_shape": list(core.glimpse_shape),
        "num_classes": core.num_classes,
        "num_glimpses": core.config.num_glimpses,
        "hidden": hidden,
    }


class ClassHeadTraining:
    """Mixed into an SB3 algorithm (before it in the bases): the class head and the extractor it
    shares with the policy learn by the env's prediction loss on stored observations and labels.

    Keyword args (besides the algorithm's):
        class_learning_rate: Adam's, for the class head and the shared extractor.
        hidden: the width of :class:`BeliefExtractor` (when the env is given).

    The ``features_extractor_kwargs`` are filled from the env when it is given, and the
    extractor class is set when the model is built (not kept in ``policy_kwargs``, so the saved
    description names only SB3's own classes).
    """

    def __init__(
        self,
        policy: Any,
        env: Any,
        *args: Any,
        class_learning_rate: float = 1e-3,
        hidden: int = 128,
        policy_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        policy_kwargs = dict(policy_kwargs or {})
        if env is not None and "features_extractor_kwargs" not in policy_kwargs:
            policy_kwargs["features_extractor_kwargs"] = extractor_kwargs(env, hidden)
        self.class_learning_rate = class_learning_rate
        self.class_loss_fn: LossFn = getattr(env, "loss_fn", None) or cross_entropy
        super().__init__(policy, env, *args, policy_kwargs=policy_kwargs, **kwargs)

    # ------------------------------------------------------------------ building

    def _setup_model(self) -> None:
        described = self.policy_kwargs
        self.policy_kwargs = {**described, "features_extractor_class": BeliefExtractor}
        try:
            super()._setup_model()
        finally:
            self.policy_kwargs = described
        self.class_optimizer = torch.optim.Adam(
            self.class_extractor.parameters(), lr=self.class_learning_rate
        )
        self._labels = np.zeros((self._buffer().buffer_size, self.n_envs), dtype=np.int64)
        self._class_rng = np.random.default_rng(self.seed)
        self.class_loss = math.nan
        self._bind(self.env)

    @property
    def class_extractor(self) -> BeliefExtractor:
        """The extractor that carries the class head (the actor's; PPO's shared one)."""
        actor = getattr(self.policy, "actor", None)
        return actor.features_extractor if actor is not None else self.policy.features_extractor

    def _buffer(self) -> Any:
        return self.replay_buffer if isinstance(self, OffPolicyAlgorithm) else self.rollout_buffer

    def _bind(self, env: Any) -> None:
        """Make ``env``'s belief the class head's (its source must be a history)."""
        source = getattr(getattr(env, "unwrapped", None), "source", None)
        if isinstance(source, HistoryLoop):
            source.head = self.class_logits
            self.class_loss_fn = getattr(env, "loss_fn", None) or self.class_loss_fn

    def set_env(self, env: Any, force_reset: bool = True) -> None:
        super().set_env(env, force_reset)
        self._bind(self.env)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_labels", "_class_rng", "class_loss_fn"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()
        return [*state_dicts, "class_optimizer"], variables

    # ------------------------------------------------------------------ acting

    @torch.no_grad()
    def class_logits(self, observations: Any) -> torch.Tensor:
        """``(N, D)`` observations -> ``(N, n)`` logits of the class head."""
        tensor = torch.as_tensor(np.asarray(observations, dtype=np.float32), device=self.device)
        return self.class_extractor.classify(tensor)

    # ------------------------------------------------------------------ learning

    def _update_info_buffer(self, infos: list[dict[str, Any]], dones: Any = None) -> None:
        """SB3 calls this with each step's infos just before it stores the step's observation
        at the buffer's ``pos``: the labels go to the same place."""
        super()._update_info_buffer(infos, dones)
        buffer = self._buffer()
        if buffer.pos < len(self._labels):
            self._labels[buffer.pos] = [info["label"] for info in infos]

    def _class_step(self, observations: np.ndarray, labels: np.ndarray) -> float:
        """One supervised step of the class head and the shared extractor; returns the loss."""
        extractor = self.class_extractor
        extractor.train()
        obs = torch.as_tensor(observations, dtype=torch.float32, device=self.device)
        target = torch.as_tensor(labels, dtype=torch.int64, device=self.device)
        loss = self.class_loss_fn(extractor.classify(obs), target).mean()
        self.class_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.class_optimizer.step()
        return float(loss.detach())

    def _record_class_loss(self, losses: list[float]) -> None:
        if losses:
            self.class_loss = float(np.mean(losses))
            self.logger.record("train/class_loss", self.class_loss)


class _OffPolicyClassHead(ClassHeadTraining):
    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        super().train(gradient_steps, batch_size)
        buffer = self.replay_buffer
        upper = buffer.buffer_size if buffer.full else buffer.pos
        losses = []
        for _ in range(gradient_steps):
            rows = self._class_rng.integers(0, upper, size=batch_size)
            envs = self._class_rng.integers(0, buffer.n_envs, size=batch_size)
            losses.append(
                self._class_step(buffer.observations[rows, envs], self._labels[rows, envs])
            )
        self._record_class_loss(losses)


class HybridSAC(_OffPolicyClassHead, SAC):
    """SAC on the location, the class head on the actor's extractor (see the module)."""


class HybridCrossQ(_OffPolicyClassHead, CrossQ):
    """sb3-contrib's CrossQ on the location, the class head on the actor's extractor."""


class HybridPPO(ClassHeadTraining, PPO):
    """PPO on the location, the class head on the extractor shared with the value function."""

    def train(self) -> None:
        buffer = self.rollout_buffer
        observations = buffer.observations.reshape(-1, buffer.observations.shape[-1])
        labels = self._labels.reshape(-1)
        losses = []
        for _ in range(self.n_epochs):
            for rows in np.array_split(
                self._class_rng.permutation(len(labels)), max(len(labels) // self.batch_size, 1)
            ):
                losses.append(self._class_step(observations[rows], labels[rows]))
        self._record_class_loss(losses)
        super().train()

"""The agents that learn only where to look: their algorithm, env form and default settings.

Two families, both trained by :mod:`agents.in_the_loop.train` (``glimpse-env train NAME``) and in
the benchmark:

- ``*_loop``: an SB3 / sb3-contrib algorithm, unchanged, through the in-the-loop wrapper
  (:mod:`agents.in_the_loop.sb3`): a classifier trained online by cross-entropy sends the belief,
  the algorithm acts on the location only and observes the classifier's belief;
- ``*_hybrid``: APPLE-style hybrids (:mod:`agents.sb3.hybrid`): one network whose class head is
  trained by the env's supervised loss beside the algorithm's RL loss on the location.

Defaults differ from SB3's where a benchmark budget (a few hundred thousand env steps over 16
envs) needs it: short rollouts for the on-policy algorithms (PPO's default ``n_steps=2048``
would be 32,768 env steps per update), replay buffers of 100,000 transitions (a million would
hold 1.9 GB of hybrid observations), smaller CrossQ critics (its 1024-unit ones ran ~5x slower
here). Exploration starts narrower: the Gaussian policies' ``log_std_init=-1`` (std 0.37; at
SB3's std 1, half the looks are clipped to the image's border and the classifier learns from
little: ``ppo_loop`` reached 68% test accuracy in 200k steps, 83% with the narrower start) and
SAC's entropy coefficient starts at 0.1, not 1. ``--hyperparams`` and ``--classifier`` override
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sb3_contrib import CrossQ, RecurrentPPO
from stable_baselines3 import A2C, DQN, PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm

from agents.in_the_loop.classifier import ClassifierSettings
from agents.sb3.hybrid import HybridCrossQ, HybridPPO, HybridSAC

__all__ = ["LOOP_AGENTS", "LoopSpec"]


@dataclass(frozen=True)
class LoopSpec:
    """How one agent that learns where to look is built and trained.

    Attributes:
        algo_class: the SB3 class (a hybrid one for ``kind="hybrid"``).
        kind: ``"loop"`` (classifier in the loop) or ``"hybrid"`` (class head in the policy).
        policy: the SB3 policy name.
        action: ``"box"`` (2 numbers) or ``"grid"`` (a cell of the patch grid, for DQN).
        hyperparams: keyword arguments of ``algo_class`` (besides policy, env, seed, device).
        classifier: the in-the-loop classifier's size and schedule (``kind="loop"``).
        num_envs: parallel episodes (one batch of the core).
    """

    algo_class: type[BaseAlgorithm]
    kind: Literal["loop", "hybrid"]
    policy: str
    action: Literal["box", "grid"]
    hyperparams: dict[str, Any] = field(default_factory=dict)
    classifier: ClassifierSettings = field(default_factory=ClassifierSettings)
    num_envs: int = 16


_OFF_POLICY = {"learning_starts": 1_000, "buffer_size": 100_000, "batch_size": 256}
_SAC = {**_OFF_POLICY, "ent_coef": "auto_0.1"}
# A hybrid's observation holds the episode's glimpses (3,914 values on cluttered60): half the
# transitions' memory by reading each next observation off the following row (episodes only
# terminate here, never time out).
_HYBRID_BUFFER = {
    "buffer_size": 50_000, "optimize_memory_usage": True,
    "replay_buffer_kwargs": {"handle_timeout_termination": False},
}  # fmt: skip
_CROSSQ_NETS = {"net_arch": {"pi": [256, 256], "qf": [512, 512]}}
_NARROW = {"log_std_init": -1.0}
_PPO = {
    "n_steps": 64, "batch_size": 256, "n_epochs": 4, "learning_rate": 3e-4,
    "policy_kwargs": _NARROW,
}  # fmt: skip

LOOP_AGENTS: dict[str, LoopSpec] = {
    "sac_loop": LoopSpec(
        SAC, "loop", "MlpPolicy", "box", {**_SAC},
    ),
    "crossq_loop": LoopSpec(
        CrossQ, "loop", "MlpPolicy", "box", {**_SAC, "policy_kwargs": _CROSSQ_NETS},
    ),
    "ppo_loop": LoopSpec(
        PPO, "loop", "MlpPolicy", "box", {**_PPO},
    ),
    "a2c_loop": LoopSpec(
        A2C, "loop", "MlpPolicy", "box",
        {"n_steps": 8, "learning_rate": 7e-4, "policy_kwargs": _NARROW},
    ),
    "dqn_loop": LoopSpec(
        DQN, "loop", "MlpPolicy", "grid",
        {**_OFF_POLICY, "exploration_fraction": 0.2, "target_update_interval": 1_000},
    ),
    "recurrent_ppo_loop": LoopSpec(
        RecurrentPPO, "loop", "MlpLstmPolicy", "box",
        {
            **_PPO,
            "batch_size": 512,
            "policy_kwargs": {
                **_NARROW, "lstm_hidden_size": 64, "shared_lstm": True,
                "enable_critic_lstm": False,
            },
        },
    ),
    "sac_hybrid": LoopSpec(
        HybridSAC, "hybrid", "MlpPolicy", "box", {**_SAC, **_HYBRID_BUFFER},
    ),
    "crossq_hybrid": LoopSpec(
        HybridCrossQ, "hybrid", "MlpPolicy", "box",
        {**_SAC, **_HYBRID_BUFFER, "policy_kwargs": _CROSSQ_NETS},
    ),
    "ppo_hybrid": LoopSpec(
        HybridPPO, "hybrid", "MlpPolicy", "box", {**_PPO},
    ),
}  # fmt: skip
"""name -> spec; the names are the ``glimpse-env train`` agent words and the bench's agents."""

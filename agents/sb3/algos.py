"""The SB3 algorithms the baselines train, with their action form and default hyperparameters.

Each :class:`AlgoSpec` names an SB3 (or sb3-contrib) class, the action form it acts in (``flat``
Box or ``discrete`` grid x classes, see :mod:`glimpse_env.faces.wrappers`), whether its memoryless
policy sees the episode's glimpses stacked, and the hyperparameters ``glimpse-env train ALGO``
and the benchmark use unless told otherwise (``--hyperparams '{"learning_rate": 1e-3}'``).

The defaults differ from SB3's where SB3's would barely update within a benchmark budget of a
few hundred thousand env steps: SB3's PPO collects ``n_steps=2048`` per env (32,768 steps per
update with 16 envs), so ours collect 32 per env. The policies are memoryless MLPs on the current
glimpse (``--frame-stack`` gives them the episode's glimpses; in a 100k-step trial here that
learned slower) except RecurrentPPO's LSTM. What each default reaches is measured in
``docs/benchmarks.md``: within 200k env steps DQN learns (about 30% test accuracy on
GlimpseEnv-v0), the policy-gradient methods, which must learn the classifier from a 1-bit reward
through Gaussian logits, stay within a few points of chance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sb3_contrib import RecurrentPPO
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm

__all__ = ["ALGOS", "AlgoSpec"]


@dataclass(frozen=True)
class AlgoSpec:
    """How one SB3 algorithm is trained on a glimpse env.

    Attributes:
        algo_class: the SB3 class.
        policy: the SB3 policy name (Dict observations need the MultiInput ones).
        action: ``"flat"`` (Box) or ``"discrete"`` (grid cell x class).
        frame_stack: stack the episode's ``T`` observations (``num_glimpses``) so that a
            memoryless policy sees every glimpse so far; recurrent policies need not.
        hyperparams: keyword arguments of ``algo_class`` (besides policy, env, seed, device).
        num_envs: parallel episodes (one batch of the core).
    """

    algo_class: type[BaseAlgorithm]
    policy: str
    action: Literal["flat", "discrete"]
    frame_stack: bool
    hyperparams: dict[str, Any] = field(default_factory=dict)
    num_envs: int = 16


ALGOS: dict[str, AlgoSpec] = {
    "ppo": AlgoSpec(
        PPO,
        "MultiInputPolicy",
        action="flat",
        frame_stack=False,
        hyperparams={"n_steps": 32, "batch_size": 128, "n_epochs": 10, "learning_rate": 3e-4},
    ),
    "a2c": AlgoSpec(
        A2C,
        "MultiInputPolicy",
        action="flat",
        frame_stack=False,
        hyperparams={"n_steps": 5, "learning_rate": 7e-4},
    ),
    "dqn": AlgoSpec(
        DQN,
        "MultiInputPolicy",
        action="discrete",
        frame_stack=False,
        # A smaller buffer than SB3's 1M: a million cluttered60 transitions are ~3.5 GB.
        hyperparams={"buffer_size": 50_000},
    ),
    "recurrent_ppo": AlgoSpec(
        RecurrentPPO,
        "MultiInputLstmPolicy",
        action="flat",
        frame_stack=False,
        # A small shared LSTM and few epochs: SB3-contrib's defaults (two 256-unit LSTMs, 10
        # epochs) trained at ~180 env steps/s on GlimpseEnv-cluttered60-v0 here, these at ~2,000.
        hyperparams={
            "n_steps": 64,
            "batch_size": 512,
            "n_epochs": 4,
            "learning_rate": 3e-4,
            "policy_kwargs": {
                "lstm_hidden_size": 64,
                "shared_lstm": True,
                "enable_critic_lstm": False,
            },
        },
    ),
}
"""name -> spec; the names are the ``glimpse-env train`` agent words and the bench's agents."""

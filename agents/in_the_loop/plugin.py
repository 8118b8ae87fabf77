"""The agents that learn where to look, as glimpse-env plugins (entry points in pyproject.toml).

``glimpse-env train NAME`` for every agent of :data:`agents.in_the_loop.names.DESCRIPTIONS`,
``glimpse-env eval NAME --model FILE`` and ``glimpse-env gif --policy FILE`` for the files they
save. Mains and loaders are ``"module:function"`` strings: importing this module imports no
agent and not SB3.
"""

from __future__ import annotations

from pathlib import Path

from agents.in_the_loop.names import DESCRIPTIONS
from glimpse_env.commands.plugins import Agent, PolicyLoader, TrainedOn

__all__ = ["AGENTS", "PAIRS", "trained_on"]


def trained_on(path: Path) -> TrainedOn | None:
    """The env a pair's file was trained on (read from its metadata member)."""
    from agents.in_the_loop.pair import read_pair_metadata
    from agents.plugins import metadata_trained_on

    return metadata_trained_on(read_pair_metadata(path))


def _agent(name: str) -> Agent:
    return Agent(
        name,
        DESCRIPTIONS[name],
        train=f"agents.in_the_loop.train:main_{name}",
        eval="agents.in_the_loop.evaluate:main",
    )


AGENTS = {name: _agent(name) for name in DESCRIPTIONS}
"""name -> Agent; pyproject's ``glimpse_env.agents`` entry points name them."""

SAC_LOOP, CROSSQ_LOOP, PPO_LOOP, A2C_LOOP, DQN_LOOP, RECURRENT_PPO_LOOP = (
    AGENTS[name]
    for name in ("sac_loop", "crossq_loop", "ppo_loop", "a2c_loop", "dqn_loop",
                 "recurrent_ppo_loop")
)  # fmt: skip
SAC_HYBRID, CROSSQ_HYBRID, PPO_HYBRID = (
    AGENTS[name] for name in ("sac_hybrid", "crossq_hybrid", "ppo_hybrid")
)
PAIRS = Agent(
    "in_the_loop",
    "policy files: agents saved by glimpse-env train *_loop|*_hybrid (with their classifier)",
    loader=PolicyLoader(
        "agents.in_the_loop.pair:can_load",
        "agents.in_the_loop.pair:load_pair",
        "agents.in_the_loop.plugin:trained_on",
    ),
)

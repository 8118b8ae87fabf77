"""The project's agents and commands as glimpse-env plugins, declared in ``pyproject.toml``.

``[project.entry-points."glimpse_env.agents"]`` names the :class:`Agent` objects below and
``[project.entry-points."glimpse_env.commands"]`` the :class:`Command` ones, exactly as a third
party's package would (``docs/architecture.md``). Mains are ``"module:function"`` strings and the
loaders' helpers import their agent inside the function, so importing this module (which
``glimpse-env --help`` does) imports no agent, no model and not SB3.

Policy files: ``eig`` reads EIG checkpoints, ``ram`` every other torch checkpoint, ``sb3`` the
zips of ``glimpse-env train ppo|a2c|dqn|recurrent_ppo``; each reports the env it was trained on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from glimpse_env.commands.plugins import Agent, Command, PolicyLoader, TrainedOn
from glimpse_env.commands.policies import Policy, is_torch_checkpoint, native_action_space

__all__ = [
    "A2C",
    "BENCH",
    "CNN",
    "DQN",
    "EIG",
    "EXPLAIN",
    "HEURISTICS",
    "MLP",
    "PPO",
    "RAM",
    "RECURRENT_PPO",
    "SB3",
]


def _checkpoint_trained_on(data: dict[str, Any]) -> TrainedOn:
    """The env of a loaded RAM or EIG checkpoint (both store ``env_id``, ``env_kwargs``)."""
    return TrainedOn(str(data["env_id"]), dict(data["env_kwargs"]), data.get("test_split"))


def _env_core(env: Any) -> Any:
    """The batched core behind a (wrapped, single or vector) glimpse env, or None."""
    return getattr(getattr(env, "unwrapped", env), "core", None)


# RAM: torch checkpoints of glimpse-env train ram (EIG's are torch files too: left to 'eig').


def is_ram_checkpoint(path: Path) -> bool:
    """A torch checkpoint that is not an EIG one (RAM's loader reads it; a foreign file fails
    with a clear CheckpointError)."""
    return is_torch_checkpoint(path) and not is_eig_checkpoint(path)


def load_ram(path: Path, env: Any) -> Policy:
    """A :class:`agents.ram.RAMAgent` on the CPU that fits ``env``.

    Raises:
        ValueError: the env gives other glimpses or classes than the RAM was trained on.
    """
    from agents.ram import RAMAgent

    agent = RAMAgent.from_checkpoint(str(path), device="cpu")
    config, core = agent.model.config, _env_core(env)
    if core is not None and (
        tuple(config.glimpse_shape) != tuple(core.glimpse_shape)
        or config.num_classes != core.num_classes
    ):
        raise ValueError(
            f"{path} was trained on {agent.env_id} (glimpses {tuple(config.glimpse_shape)}, "
            f"{config.num_classes} classes); this env gives glimpses {tuple(core.glimpse_shape)} "
            f"and {core.num_classes} classes"
        )
    return agent


def ram_trained_on(path: Path) -> TrainedOn:
    from agents.ram.checkpoint import load_checkpoint

    return _checkpoint_trained_on(load_checkpoint(path))


# EIG: torch checkpoints tagged glimpse-env/eig.


def is_eig_checkpoint(path: Path) -> bool:
    from agents.eig.checkpoint import is_eig_checkpoint as peek

    return peek(path)


def eig_trained_on(path: Path) -> TrainedOn:
    from agents.eig.checkpoint import load_checkpoint

    return _checkpoint_trained_on(load_checkpoint(path))


# SB3: zips with glimpse-env's metadata member (read without importing SB3).


def is_sb3_model(path: Path) -> bool:
    from agents.sb3.metadata import can_load

    return can_load(path)


def metadata_trained_on(metadata: Any) -> TrainedOn | None:
    """The env of a zip's metadata (SB3's or an in-the-loop pair's: ``env_id``, ``env_kwargs``,
    ``test_split``); None for a file that records no env id."""
    if metadata.env_id is None:
        return None
    return TrainedOn(metadata.env_id, metadata.env_kwargs, metadata.test_split)


def sb3_trained_on(path: Path) -> TrainedOn | None:
    from agents.sb3.metadata import read_metadata

    return metadata_trained_on(read_metadata(path))


# The reference policies: factory(env, seed) -> Policy.


def random_policy(env: Any, seed: int | None = None) -> Policy:
    """:class:`agents.heuristics.RandomPolicy`: uniform random locations, seeded."""
    from agents.heuristics import RandomPolicy

    space = native_action_space(env)
    return RandomPolicy(space["logits"].shape[0], "stop" in space.spaces, seed=seed)


def center_policy(env: Any, seed: int | None = None) -> Policy:
    """:class:`agents.heuristics.CenterPolicy`: always the centre."""
    from agents.heuristics import CenterPolicy

    space = native_action_space(env)
    return CenterPolicy(space["logits"].shape[0], "stop" in space.spaces)


def scan_policy(env: Any, seed: int | None = None) -> Policy:
    """:class:`agents.heuristics.FixedScanPolicy`: the centre, then the quadrants' centres."""
    from agents.heuristics import FixedScanPolicy

    space = native_action_space(env)
    return FixedScanPolicy(num_classes=space["logits"].shape[0], early_stop="stop" in space.spaces)


RAM = Agent(
    "ram",
    "recurrent attention model (Mnih et al. 2014): REINFORCE where to look, supervised guess",
    train="agents.ram.train:main",
    eval="agents.ram.evaluate:main",
    loader=PolicyLoader(is_ram_checkpoint, load_ram, ram_trained_on),
    policies={"pretrained": "agents.ram.pretrained:pretrained_policy"},
    policy_envs={"pretrained": "agents.ram.pretrained:pretrained_trained_on"},
)
CNN = Agent(
    "cnn", "baseline: a small CNN that sees the whole canvas", train="agents.ram.baselines:main_cnn"
)
MLP = Agent(
    "mlp",
    "baseline: a 2-layer MLP that sees the whole canvas",
    train="agents.ram.baselines:main_mlp",
)
EIG = Agent(
    "eig",
    "probabilistic hard attention (Rangrej & Clark 2021): glimpses by expected information gain",
    train="agents.eig.train:main",
    eval="agents.eig.evaluate:main",
    loader=PolicyLoader(is_eig_checkpoint, "agents.eig.agent:load_policy", eig_trained_on),
)
PPO = Agent(
    "ppo", "Stable-Baselines3 PPO on the flattened glimpse", train="agents.sb3.train:main_ppo"
)
A2C = Agent(
    "a2c", "Stable-Baselines3 A2C on the flattened glimpse", train="agents.sb3.train:main_a2c"
)
DQN = Agent(
    "dqn", "Stable-Baselines3 DQN on a grid of locations", train="agents.sb3.train:main_dqn"
)
RECURRENT_PPO = Agent(
    "recurrent_ppo",
    "sb3-contrib RecurrentPPO (LSTM policy)",
    train="agents.sb3.train:main_recurrent_ppo",
)
SB3 = Agent(
    "sb3",
    "policy files: models saved by glimpse-env train ppo|a2c|dqn|recurrent_ppo",
    loader=PolicyLoader(is_sb3_model, "agents.sb3.policy:load_policy", sb3_trained_on),
)
HEURISTICS = Agent(
    "heuristics",
    "reference policies that look by a fixed rule: --policy random | center | scan",
    policies={"random": random_policy, "center": center_policy, "scan": scan_policy},
)

EXPLAIN = Command(
    "explain", "explain what a RAM saw: reconstructions, information", "agents.explain.cli:main"
)
BENCH = Command(
    "bench", "train and evaluate agents x envs x seeds, report", "agents.benchmark.cli:main"
)

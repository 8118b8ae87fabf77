"""Policies by name or file: what ``glimpse-env gif --policy SPEC`` (and anything else) runs.

A :class:`Policy` has Stable-Baselines3's ``predict(observation, state=None, episode_start=None,
deterministic=True) -> (action, state)`` and returns the env's native Dict action
(``{"location": (2,) float32, "logits": (n,) float32}``). :func:`load_policy` turns a spec into
one:

- ``"random"``, ``"center"``, ``"scan"``: the reference policies of :mod:`agents.heuristics`;
- any other spec is the path of a file, handed to the first registered loader whose
  ``can_load(path)`` is true. Built in: ``ram``, which loads a torch checkpoint through
  ``agents.ram.RAMAgent.from_checkpoint(path, device="cpu")``, and ``sb3``, which loads a
  Stable-Baselines3 ``.zip`` saved by ``glimpse-env train ppo|a2c|dqn|recurrent_ppo`` through
  ``agents.sb3.policy.load_policy``. Other formats plug in with
  :func:`register_policy_loader`, or from another package through the
  ``glimpse_env.policy_loaders`` entry-point group (the entry point names an object with
  ``can_load`` and ``load`` attributes).

>>> import gymnasium as gym, glimpse_env, torch
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), torch.arange(2),
...                     classes=("a", "b"))
>>> env = gym.make("GlimpseEnv-v0", dataset=data)
>>> policy = load_policy("center", env)
>>> obs, _ = env.reset(seed=0)
>>> action, state = policy.predict(obs)
>>> action["location"].tolist(), action["logits"].tolist()
([0.0, 0.0], [0.0, 0.0])
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from gymnasium import spaces

__all__ = [
    "BUILTIN_POLICIES",
    "ENTRY_POINT_GROUP",
    "Policy",
    "PolicyLoader",
    "is_torch_checkpoint",
    "load_policy",
    "policy_loaders",
    "register_policy_loader",
]

ENTRY_POINT_GROUP = "glimpse_env.policy_loaders"
BUILTIN_POLICIES = ("random", "center", "scan")
"""Specs that name a reference policy of :mod:`agents.heuristics` rather than a file."""


@runtime_checkable
class Policy(Protocol):
    """Anything with Stable-Baselines3's ``predict`` that returns a native Dict action."""

    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[dict[str, np.ndarray], Any]: ...


@dataclass(frozen=True)
class PolicyLoader:
    """A way to load policies from files.

    Attributes:
        name: shown in error messages; registering a name again replaces the loader.
        can_load: ``path -> bool``, whether this loader reads that file (cheap: a peek).
        load: ``(path, env) -> Policy``.
    """

    name: str
    can_load: Callable[[Path], bool]
    load: Callable[[Path, Any], Policy]


_TORCH_LEGACY_MAGIC = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)[:-1]


def is_torch_checkpoint(path: Path) -> bool:
    """Whether ``path`` is a file written by ``torch.save`` (zip or legacy format)."""
    path = Path(path)
    if not path.is_file():
        return False
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return any(name.split("/")[-1] == "data.pkl" for name in archive.namelist())
    with open(path, "rb") as file:
        return file.read(len(_TORCH_LEGACY_MAGIC)) == _TORCH_LEGACY_MAGIC


def _load_ram(path: Path, env: Any) -> Policy:
    try:
        from agents.ram import RAMAgent
    except ImportError as err:
        raise ValueError(
            f"{path} is a torch checkpoint, which loads as a RAM agent through "
            "agents.ram.RAMAgent.from_checkpoint(path, device='cpu') with "
            "predict(obs, state, episode_start, deterministic); agents.ram cannot be imported "
            f"({err})"
        ) from err
    return RAMAgent.from_checkpoint(str(path), device="cpu")


def _is_sb3_model(path: Path) -> bool:
    try:
        from agents.sb3.metadata import can_load  # a zip peek; does not import SB3
    except ImportError:
        return False
    return can_load(path)


def _load_sb3(path: Path, env: Any) -> Policy:
    from agents.sb3.policy import load_policy as load_sb3_policy

    return load_sb3_policy(path, env)


_LOADERS: list[PolicyLoader] = [
    PolicyLoader("ram", is_torch_checkpoint, _load_ram),
    PolicyLoader("sb3", _is_sb3_model, _load_sb3),
]
_entry_points_loaded = False


def register_policy_loader(
    name: str, can_load: Callable[[Path], bool], load: Callable[[Path, Any], Policy]
) -> None:
    """Add a loader of policy files; it is asked before the loaders registered earlier.

    Args:
        name: the loader's name; registering a name again replaces that loader.
        can_load: ``path -> bool``.
        load: ``(path, env) -> Policy``.
    """
    _LOADERS[:] = [loader for loader in _LOADERS if loader.name != name]
    _LOADERS.insert(0, PolicyLoader(name, can_load, load))


def policy_loaders() -> list[PolicyLoader]:
    """The registered loaders, in the order they are asked (entry points loaded first)."""
    global _entry_points_loaded
    if not _entry_points_loaded:
        _entry_points_loaded = True
        for point in entry_points(group=ENTRY_POINT_GROUP):
            plugin = point.load()
            register_policy_loader(point.name, plugin.can_load, plugin.load)
    return list(_LOADERS)


def _native_action_space(env: Any) -> spaces.Dict:
    space = getattr(env, "single_action_space", None) or env.action_space
    if not isinstance(space, spaces.Dict) or "logits" not in space.spaces:
        raise ValueError(
            "load_policy needs an env with the native Dict action space (location, logits), "
            f"got {space}; pass the env before any action wrapper"
        )
    return space


def _accepted_forms() -> str:
    names = ", ".join(loader.name for loader in policy_loaders())
    return (
        f"accepted: {', '.join(repr(b) for b in BUILTIN_POLICIES)}, or the path of a policy "
        f"file that a registered loader reads (loaders: {names}; 'ram' reads a torch checkpoint "
        "of agents.ram.RAMAgent, 'sb3' a .zip of glimpse-env train ppo|a2c|dqn|recurrent_ppo; "
        "add formats with glimpse_env.commands.policies.register_policy_loader)"
    )


def load_policy(spec: str, env: Any, seed: int | None = None) -> Policy:
    """The policy a spec names, to act in ``env``.

    Args:
        spec: ``"random"``, ``"center"``, ``"scan"``, or the path of a policy file.
        env: the environment (single or vector, native action space) the policy will act in.
        seed: seed of the random policy.

    Raises:
        ValueError: an unknown spec, a missing file, or a file no loader reads, with the
            accepted forms; or a loader's own error (e.g. ``agents.ram`` not importable).
    """
    if spec in BUILTIN_POLICIES:
        from agents.heuristics import CenterPolicy, FixedScanPolicy, RandomPolicy

        space = _native_action_space(env)
        n, early_stop = space["logits"].shape[0], "stop" in space.spaces
        if spec == "random":
            return RandomPolicy(n, early_stop, seed=seed)
        if spec == "center":
            return CenterPolicy(n, early_stop)
        return FixedScanPolicy(num_classes=n, early_stop=early_stop)
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ValueError(
            f"unknown policy {spec!r}: not a built-in name nor a file; " + _accepted_forms()
        )
    for loader in policy_loaders():
        if loader.can_load(path):
            policy = loader.load(path, env)
            if not callable(getattr(policy, "predict", None)):
                raise ValueError(
                    f"loader {loader.name!r} returned {policy!r}, which has no predict"
                )
            return policy
    raise ValueError(f"no policy loader reads {path}; " + _accepted_forms())


# EIG checkpoints (agents/eig) are torch files too: the 'ram' loader leaves them to 'eig'.
def _is_eig_checkpoint(path: Path) -> bool:
    try:
        from agents.eig.checkpoint import is_eig_checkpoint  # a peek at the pickle's format tag
    except ImportError:
        return False
    return is_eig_checkpoint(path)


def _load_eig(path: Path, env: Any) -> Policy:
    from agents.eig.agent import load_policy as load_eig_policy

    return load_eig_policy(path, env)


def _is_ram_checkpoint(path: Path) -> bool:
    return is_torch_checkpoint(path) and not _is_eig_checkpoint(path)


_LOADERS[:] = [
    PolicyLoader(loader.name, _is_ram_checkpoint, loader.load) if loader.name == "ram" else loader
    for loader in _LOADERS
]
_LOADERS.append(PolicyLoader("eig", _is_eig_checkpoint, _load_eig))

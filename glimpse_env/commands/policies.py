"""Policies by name or file, and the env they act in: what ``glimpse-env gif --policy SPEC`` runs.

A :class:`Policy` has Stable-Baselines3's ``predict(observation, state=None, episode_start=None,
deterministic=True) -> (action, state)`` and returns the env's native Dict action
(``{"location": (2,) float32, "logits": (n,) float32}``). Policies come from the agents of
:mod:`glimpse_env.commands.plugins`, never from a hard-coded import:

- a spec that an agent lists in its ``policies`` is that policy (the project's ``heuristics``
  agent names ``random``, ``center`` and ``scan``);
- any other spec is the path of a file, read by the first agent loader whose ``can_load(path)``
  is true (the project's: ``ram`` and ``eig`` torch checkpoints, ``sb3`` zips).

:func:`policy_env` picks the env a policy acts in: the id and kwargs its file was trained on
(the loader's ``trained_on``), under the command line's id and ``--env-kwargs``.

>>> choice = policy_env(None, None, {"split": "test"})
>>> choice.env_id, choice.kwargs, choice.note
('GlimpseEnv-v0', {'split': 'test'}, None)
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from gymnasium import spaces

from glimpse_env.commands.plugins import (
    Agent,
    PolicyLoader,
    Target,
    TrainedOn,
    agents,
    named_policies,
    named_policy_env,
    policy_loaders,
    register_agent,
    resolve,
)
from glimpse_env.registration import env_kwargs as registered_env_kwargs

__all__ = [
    "DEFAULT_ENV",
    "MACHINE_LOCAL_KWARGS",
    "EnvChoice",
    "Policy",
    "find_loader",
    "is_torch_checkpoint",
    "load_policy",
    "native_action_space",
    "policy_env",
    "policy_trained_on",
    "register_policy_loader",
]

DEFAULT_ENV = "GlimpseEnv-v0"
"""The env of a command given neither an id nor a policy file that records one."""
MACHINE_LOCAL_KWARGS = ("device", "data_root")
"""Env kwargs of the machine a policy was trained on, not of its task: never taken from files."""


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


_TORCH_LEGACY_MAGIC = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2)[:-1]


def is_torch_checkpoint(path: str | Path) -> bool:
    """Whether ``path`` is a file written by ``torch.save`` (zip or legacy format)."""
    path = Path(path)
    if not path.is_file():
        return False
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return any(name.split("/")[-1] == "data.pkl" for name in archive.namelist())
    with open(path, "rb") as file:
        return file.read(len(_TORCH_LEGACY_MAGIC)) == _TORCH_LEGACY_MAGIC


def native_action_space(env: Any) -> spaces.Dict:
    """The env's native Dict action space (``location``, ``logits``[, ``stop``]).

    Raises:
        ValueError: the env's action space is not the native one (a wrapper changed it).
    """
    space = getattr(env, "single_action_space", None) or env.action_space
    if not isinstance(space, spaces.Dict) or "logits" not in space.spaces:
        raise ValueError(
            "policies need an env with the native Dict action space (location, logits), "
            f"got {space}; pass the env before any action wrapper"
        )
    return space


def register_policy_loader(
    name: str, can_load: Target, load: Target, trained_on: Target | None = None
) -> None:
    """Give agent ``name`` this loader (a new agent if there is none); it is asked first.

    A shortcut for :func:`glimpse_env.commands.plugins.register_agent` with a
    :class:`~glimpse_env.commands.plugins.PolicyLoader`.

    Args:
        name: the agent's name; an existing agent keeps its other parts.
        can_load: ``(path: Path) -> bool``.
        load: ``(path: Path, env) -> Policy``.
        trained_on: ``(path: Path) -> TrainedOn | None`` (optional).
    """
    loader = PolicyLoader(can_load, load, trained_on)
    existing = agents().get(name)
    if existing is None:
        register_agent(Agent(name, f"policy files read by {name}", loader=loader))
    else:
        register_agent(replace(existing, loader=loader), overwrite=True)


def find_loader(path: str | Path) -> tuple[str, PolicyLoader] | None:
    """``(agent name, loader)`` of the first loader that reads ``path``, or None."""
    path = Path(path)
    for name, loader in policy_loaders():
        if resolve(loader.can_load)(path):
            return name, loader
    return None


def _accepted_forms() -> str:
    names = ", ".join(repr(name) for name in named_policies()) or "(no policy names)"
    loaders = ", ".join(name for name, _ in policy_loaders()) or "none"
    return (
        f"accepted: {names}, or the path of a policy file that an agent's loader reads "
        f"(loaders: {loaders}); agents add names and formats through the glimpse_env.agents "
        "entry points or glimpse_env.commands.plugins.register_agent"
    )


def _policy_file(spec: str) -> tuple[Path, str, PolicyLoader]:
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ValueError(
            f"unknown policy {spec!r}: not a policy name nor a file; " + _accepted_forms()
        )
    found = find_loader(path)
    if found is None:
        raise ValueError(f"no policy loader reads {path}; " + _accepted_forms())
    return path, *found


def load_policy(spec: str, env: Any, seed: int | None = None) -> Policy:
    """The policy a spec names, to act in ``env``.

    Args:
        spec: a policy name (``"random"``, ``"center"``, ``"scan"``, ...) or the path of a file.
        env: the environment (single or vector, native action space) the policy will act in.
        seed: seed of a random policy.

    Raises:
        ValueError: an unknown spec, a missing file, or a file no loader reads, with the
            accepted forms; or the loader's own error (e.g. a policy trained on other glimpses).
        ImportError: the agent's code cannot be imported (e.g. SB3 is not installed).
    """
    named = named_policies()
    if spec in named:
        native_action_space(env)
        policy = resolve(named[spec][1])(env, seed)
        source = f"agent {named[spec][0]!r}"
    else:
        path, name, loader = _policy_file(spec)
        policy = resolve(loader.load)(path, env)
        source = f"loader {name!r}"
    if not callable(getattr(policy, "predict", None)):
        raise ValueError(f"{source} returned {policy!r}, which has no predict")
    return policy


def policy_trained_on(spec: str | None, env_id: str | None = None) -> TrainedOn | None:
    """The env a policy was trained on, if its loader (or its agent, for a name) reports one.

    Args:
        spec: a policy file, a policy name, or None.
        env_id: the id the policy is for (a named policy such as ``pretrained`` has one per id);
            default :data:`DEFAULT_ENV`.

    Raises:
        ValueError: a file no loader reads, or one its loader cannot read.
    """
    if spec is None:
        return None
    if spec in named_policies():
        hook, source = named_policy_env(spec), f"policy {spec!r}"
        trained = None if hook is None else resolve(hook)(env_id or DEFAULT_ENV)
    else:
        path, _, loader = _policy_file(spec)
        if loader.trained_on is None:
            return None
        trained, source = resolve(loader.trained_on)(path), f"{path}'s loader"
    if trained is not None and not isinstance(trained, TrainedOn):
        raise ValueError(f"the trained_on of {source} returned {trained!r}, not a TrainedOn")
    return trained


@dataclass(frozen=True)
class EnvChoice:
    """The env a command makes for a policy.

    Attributes:
        env_id: the id to ``gym.make``.
        kwargs: its kwargs (on top of the id's own).
        note: one line for the user when the env differs from the policy's training env.
    """

    env_id: str
    kwargs: dict[str, Any]
    note: str | None = None


def _differences(
    spec: str, trained: TrainedOn, env_id: str, kwargs: Mapping[str, Any]
) -> str | None:
    """A note naming what differs between the training env and this one, or None."""
    try:
        before = registered_env_kwargs(trained.env_id, **trained.env_kwargs)
        after = registered_env_kwargs(env_id, **kwargs)
    except ValueError:  # an id of another form or not registered: gym.make says what is wrong
        return None if env_id == trained.env_id else f"note: {spec} was trained on {trained.env_id}"
    ignored = {*MACHINE_LOCAL_KWARGS, "split"}
    changed = [
        f"{key}={after.get(key)!r} (trained {before.get(key)!r})"
        for key in sorted(set(before) | set(after), key=str)
        if key not in ignored and before.get(key) != after.get(key)
    ]
    if not changed:
        return None
    return f"note: {spec} was trained on {trained.env_id}; this env has " + ", ".join(changed)


def policy_env(
    policy: str | None,
    env_id: str | None,
    env_kwargs: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
) -> EnvChoice:
    """The env a policy acts in: its training env's id and kwargs, under what the user gave.

    Args:
        policy: the ``--policy`` spec (a name, a file, or None).
        env_id: the id the user named, or None for the policy's training id (else
            :data:`DEFAULT_ENV`).
        env_kwargs: the user's kwargs (``--env-kwargs``); they override the file's.
        defaults: kwargs under both (e.g. ``play``'s ``early_stop=True``).

    The file's kwargs apply when its training id is used, without :data:`MACHINE_LOCAL_KWARGS`.
    The split, with any id, is the one the file was tested on, else the one it was trained on.

    Raises:
        ValueError: a policy file no loader can read (or its loader's error).
    """
    trained = policy_trained_on(policy, env_id)
    base: dict[str, Any] = dict(defaults or {})
    if trained is None:
        return EnvChoice(env_id or DEFAULT_ENV, {**base, **env_kwargs})
    chosen = env_id or trained.env_id
    if chosen == trained.env_id:
        base.update({k: v for k, v in trained.env_kwargs.items() if k not in MACHINE_LOCAL_KWARGS})
    split = trained.test_split or trained.env_kwargs.get("split")
    if split is not None:  # which images, not how the env works: kept for any id
        base["split"] = split
    kwargs = {**base, **env_kwargs}
    assert policy is not None
    return EnvChoice(chosen, kwargs, _differences(policy, trained, chosen, kwargs))

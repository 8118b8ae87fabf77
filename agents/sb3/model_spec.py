"""An SB3 model as JSON plus its weights: rebuilt without unpickling anything from the file.

SB3's own ``load`` unpickles (cloudpickle) the serialized entries of the zip's ``data`` member
(the policy class, the spaces, the schedules, ...): a crafted ``data`` runs code when loaded.
:func:`describe_model` writes down, as plain JSON, what it takes to build the same model again:
the algorithm's policy class, the observation and action spaces, the policy kwargs (classes by
name) and the scalar hyperparameters. :func:`rebuild_model` builds the model from that
description and fills its networks (and optimizers) from the zip's ``.pth`` members, read with
``torch.load(..., weights_only=True)``; it never reads ``data``.

A class named in a description is accepted only if its module is already imported and lies
under ``torch``, ``stable_baselines3`` or ``sb3_contrib``, and it subclasses what the slot needs
(a policy, a torch module, an optimizer): a file cannot make the loader import or call anything
else.

>>> from gymnasium import spaces
>>> space = spaces.Dict({"location": spaces.Box(-1, 1, (2,))})
>>> describe_space(space)
{'type': 'Dict', 'spaces': {'location': {'type': 'Box', 'shape': [2], 'dtype': 'float32', \
'low': -1.0, 'high': 1.0}}}
>>> build_space(describe_space(space)) == space
True
"""

from __future__ import annotations

import io
import os
import sys
import zipfile
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.save_util import recursive_setattr

__all__ = ["build_space", "describe_model", "describe_space", "first_line", "rebuild_model"]

SCALAR_ATTRIBUTES = (
    "learning_rate", "gamma", "n_steps", "batch_size", "n_epochs", "gae_lambda", "ent_coef",
    "vf_coef", "max_grad_norm", "normalize_advantage", "use_sde", "sde_sample_freq",
    "buffer_size", "learning_starts", "tau", "gradient_steps", "target_update_interval",
    "exploration_rate", "exploration_initial_eps", "exploration_final_eps",
    "exploration_fraction", "num_timesteps", "target_entropy",
)  # fmt: skip
"""Hyperparameters kept when they are plain numbers (a schedule is kept as its current value)."""

CLASS_MODULES = ("torch.", "stable_baselines3.", "sb3_contrib.")
"""Module prefixes a described class may come from."""

CLASS_KEY = ":class:"
"""How a class is written in described policy kwargs: ``{":class:": "module:QualName"}``."""


def describe_space(space: spaces.Space) -> dict[str, Any]:
    """A JSON description of a Box, Discrete or Dict space (bounds as one number if uniform)."""
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {k: describe_space(s) for k, s in space.spaces.items()}}
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        described: dict[str, Any] = {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
        }
        for name in ("low", "high"):
            bound = np.asarray(getattr(space, name))
            uniform = bound.size > 0 and bool(np.all(bound == bound.flat[0]))
            described[name] = bound.flat[0].item() if uniform else bound.tolist()
        return described
    raise TypeError(f"cannot describe a {type(space).__name__} space (Box, Discrete or Dict)")


def build_space(described: Any) -> spaces.Space:
    """The space :func:`describe_space` described.

    Raises:
        ValueError: not such a description.
    """
    kind = described.get("type") if isinstance(described, dict) else None
    try:
        if kind == "Dict":
            return spaces.Dict({str(k): build_space(v) for k, v in described["spaces"].items()})
        if kind == "Discrete":
            return spaces.Discrete(int(described["n"]), start=int(described["start"]))
        if kind == "Box":
            dtype = np.dtype(described["dtype"])
            if dtype.kind not in "fiub":
                raise ValueError(f"a Box of numbers, not of {dtype}")
            shape = tuple(int(size) for size in described["shape"])
            low = np.broadcast_to(np.asarray(described["low"], dtype=dtype), shape)
            high = np.broadcast_to(np.asarray(described["high"], dtype=dtype), shape)
            return spaces.Box(low, high, shape, dtype)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"a malformed {kind} space ({err})") from err
    raise ValueError(f"an unknown space {described!r:.80} (expected a Box, Discrete or Dict)")


def first_line(err: BaseException) -> str:
    """The first line of an error's message (torch's and SB3's run over many lines)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _resolve_class(name: Any, base: type | tuple[type, ...]) -> type:
    """The class ``"module:QualName"`` of an already imported trusted module, if a ``base``."""
    module_name, _, qualname = str(name).partition(":")
    module = sys.modules.get(module_name)
    if not module_name.startswith(CLASS_MODULES) or module is None or not qualname:
        raise ValueError(
            f"refusing class {name!r}: only classes of already imported modules of "
            f"{', '.join(p.rstrip('.') for p in CLASS_MODULES)} are rebuilt"
        )
    found: Any = module
    for part in qualname.split("."):
        if part.startswith("_"):
            raise ValueError(f"refusing class {name!r}: private names are not rebuilt")
        found = getattr(found, part, None)
    if not isinstance(found, type) or not issubclass(found, base):
        expected = base.__name__ if isinstance(base, type) else "/".join(b.__name__ for b in base)
        raise ValueError(f"refusing class {name!r}: not a {expected} subclass")
    return found


def _describe_value(value: Any, where: str) -> Any:
    """Policy kwargs as JSON: dicts, lists, numbers, strings and classes (by name)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, type):
        return {CLASS_KEY: _class_name(value)}
    if isinstance(value, list | tuple):
        return [_describe_value(item, where) for item in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _describe_value(item, f"{where}.{key}") for key, item in value.items()}
    raise TypeError(
        f"policy kwarg {where} = {value!r:.60} cannot be written as JSON (numbers, strings, "
        "lists, dicts and classes can)"
    )


_KWARG_CLASSES = (torch.nn.Module, torch.optim.Optimizer)


def _build_value(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {CLASS_KEY}:
            return _resolve_class(value[CLASS_KEY], _KWARG_CLASSES)
        return {str(key): _build_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_build_value(item) for item in value]
    return value


def describe_model(model: BaseAlgorithm) -> dict[str, Any]:
    """What :func:`rebuild_model` needs besides the weights, as plain JSON.

    Raises:
        TypeError: a space or policy kwarg that has no JSON form (e.g. a function).
    """
    attributes = {}
    for name in SCALAR_ATTRIBUTES:
        value = getattr(model, name, None)
        if callable(value) and name == "learning_rate":
            value = model.lr_schedule(model._current_progress_remaining)
        if isinstance(value, bool | int | float):
            attributes[name] = value
    return {
        "algo_class": _class_name(type(model)),
        "policy_class": _class_name(model.policy_class),
        "observation_space": describe_space(model.observation_space),
        "action_space": describe_space(model.action_space),
        "policy_kwargs": _describe_value(dict(model.policy_kwargs), "policy_kwargs"),
        "attributes": attributes,
    }


def _read_tensors(archive: zipfile.ZipFile, member: str, device: str) -> Any:
    """A ``.pth`` member read with ``weights_only=True`` (tensors and plain containers only)."""
    try:
        raw = archive.read(member)
    except KeyError as err:
        raise ValueError(f"no {member} in the zip") from err
    try:
        return torch.load(io.BytesIO(raw), map_location=device, weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError, ... for bad files
        raise ValueError(f"{member} is not plain tensors (torch: {first_line(err)})") from err


def rebuild_model(
    path: str | os.PathLike,
    description: dict[str, Any],
    algo_class: type[BaseAlgorithm],
    device: str = "cpu",
) -> BaseAlgorithm:
    """Build ``algo_class`` from :func:`describe_model`'s ``description`` and the zip's weights.

    The zip's ``data`` member is never read. The model has no replay buffer content nor env
    (as after SB3's ``load``) and acts like the saved one; its optimizers' states are restored.

    Raises:
        ValueError: a malformed description, a class outside the trusted modules, weights that
            are not plain tensors or do not fit the networks (one line, naming the file).
    """
    try:
        if not isinstance(description, dict):
            raise ValueError("the model description is not a JSON object")
        if description.get("algo_class") != _class_name(algo_class):
            raise ValueError(
                f"the description is of {description.get('algo_class')!r}, not of "
                f"{_class_name(algo_class)!r}"
            )
        policy_class = _resolve_class(description.get("policy_class"), BasePolicy)
        kwargs = _build_value(description.get("policy_kwargs") or {})
        if not isinstance(kwargs, dict):
            raise ValueError("policy_kwargs is not a JSON object")
        model = algo_class(policy=policy_class, env=None, device=device, _init_setup_model=False)
        model.observation_space = build_space(description.get("observation_space"))
        model.action_space = build_space(description.get("action_space"))
        model.policy_kwargs = kwargs
        model.n_envs = 1
        attributes = description.get("attributes") or {}
        for name, value in attributes.items():
            if name in SCALAR_ATTRIBUTES and isinstance(value, bool | int | float):
                setattr(model, name, value)
        model._setup_model()
        state_dicts, variables = model._get_torch_save_params()
        with zipfile.ZipFile(path) as archive:
            params = {name: _read_tensors(archive, f"{name}.pth", device) for name in state_dicts}
            saved = (
                _read_tensors(archive, "pytorch_variables.pth", device)
                if variables and "pytorch_variables.pth" in archive.namelist()
                else {}
            )
        model.set_parameters(params, exact_match=True, device=device)
        for name in variables:
            if isinstance(saved, dict) and isinstance(saved.get(name), torch.Tensor):
                recursive_setattr(model, f"{name}.data", saved[name].data)
    except (ValueError, TypeError, KeyError, RuntimeError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: cannot rebuild the SB3 model: {first_line(err)}") from err
    return model

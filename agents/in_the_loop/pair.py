"""A trained agent and its classifier, saved as one file and replayed as one policy.

:func:`save_pair` writes SB3's own zip of the agent plus two members: ``in_the_loop.json``
(:class:`PairMetadata`: which agent, its action and observation forms, the env it was trained
on and what it takes to rebuild the SB3 model without unpickling, see
:mod:`agents.sb3.model_spec`) and, for the ``*_loop`` agents, ``classifier.pt`` (the in-the-loop
classifier's weights and settings, read back with ``torch.load(..., weights_only=True)``). The
hybrids' class head is in the SB3 model itself. The file is written atomically.

:func:`load_pair` rebuilds both into a :class:`LoopPolicy`, which takes the env's native
observations and returns native actions (the agent's location, the classifier's logits), so
``glimpse-env gif --policy FILE``, ``glimpse-env eval NAME --model FILE`` and the benchmark's
evaluation replay the pair as it was trained. On an env of another configuration (glimpse shape,
classes, episode length, image size) it fails with one line naming what differs.

>>> import tempfile, gymnasium as gym, torch
>>> from agents.in_the_loop.train import train_loop
>>> from glimpse_env.data import ImageDataset
>>> data = ImageDataset(torch.randint(0, 256, (32, 1, 28, 28), dtype=torch.uint8),
...                     torch.arange(32) % 10, classes=tuple("0123456789"))
>>> run = train_loop("sac_loop", "GlimpseEnv-v0", 64, env_kwargs={"dataset": data},
...                  hyperparams={"learning_starts": 16, "buffer_size": 500}, num_envs=4)
>>> folder = tempfile.TemporaryDirectory()
>>> path = save_pair(run.model, f"{folder.name}/sac_loop", run.metadata, run.classifier)
>>> path.name
'sac_loop.zip'
>>> env = gym.make("GlimpseEnv-v0", dataset=data)
>>> policy = load_pair(path, env)  # checks env's configuration against the file's
>>> obs, info = env.reset(seed=0)
>>> action, state = policy.predict(obs)  # native: where to look and the classifier's logits
>>> action["location"].shape, action["logits"].shape
((2,), (10,))
>>> folder.cleanup()
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm

from agents.checkpoints import CheckpointError
from agents.in_the_loop.classifier import OnlineClassifier
from agents.in_the_loop.loop import BeliefLoop, BeliefSource
from agents.in_the_loop.sb3 import InTheLoopSB3VecEnv
from agents.in_the_loop.spaces import LocationAction, ObservationForm
from agents.sb3.model_spec import describe_model, first_line, rebuild_model
from agents.sb3.policy import _jsonable
from glimpse_env.core.batched import GlimpseCore

__all__ = [
    "CLASSIFIER_MEMBER",
    "METADATA_MEMBER",
    "LoopPolicy",
    "PairMetadata",
    "can_load",
    "load_pair",
    "metadata_for",
    "read_pair_metadata",
    "save_pair",
]

METADATA_MEMBER = "in_the_loop.json"
CLASSIFIER_MEMBER = "classifier.pt"


@dataclass(frozen=True)
class PairMetadata:
    """What a pair's file says besides the weights.

    Attributes:
        agent: the name in :data:`agents.in_the_loop.algos.LOOP_AGENTS`.
        kind: ``"loop"`` (a ``classifier.pt`` member) or ``"hybrid"``.
        action: ``"box"`` or ``"grid"``; grid: the grid's ``(G*G, 2)`` locations.
        observation: ``"flat"`` or ``"dict"``; with_state: the classifier's state observed.
        glimpse_shape, num_classes, num_glimpses, canvas_shape: the env's configuration.
        env_id, env_kwargs: the env it was trained on (JSON-able kwargs).
        test_split: the held-out split ``glimpse-env train`` tested it on (gif shows that one).
        model: the SB3 model's description (:func:`agents.sb3.model_spec.describe_model`).
    """

    agent: str
    kind: str
    action: str
    observation: str
    glimpse_shape: list[int]
    num_classes: int
    num_glimpses: int
    canvas_shape: list[int]
    with_state: bool = False
    grid: list[list[float]] = field(default_factory=list)
    env_id: str | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    test_split: str | None = None

    def configuration(self) -> dict[str, tuple[int, ...] | int]:
        """The env configuration a pair can act in."""
        return {
            "glimpse shape": tuple(self.glimpse_shape),
            "classes": self.num_classes,
            "glimpses per episode": self.num_glimpses,
            "image size": tuple(self.canvas_shape),
        }


def _configuration_of(core: Any) -> dict[str, tuple[int, ...] | int]:
    return {
        "glimpse shape": tuple(core.glimpse_shape),
        "classes": core.num_classes,
        "glimpses per episode": core.config.num_glimpses,
        "image size": tuple(core.canvas_shape),
    }


def metadata_for(
    agent: str,
    kind: str,
    venv: Any,
    model: BaseAlgorithm,
    env_id: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> PairMetadata:
    """The metadata of ``model`` trained as ``agent`` on ``venv`` (an in-the-loop SB3 env)."""
    inner = venv.unwrapped
    if not isinstance(inner, InTheLoopSB3VecEnv):
        raise TypeError(f"expected an InTheLoopSB3VecEnv underneath, got {type(inner).__name__}")
    parts, core = inner.parts, inner.env.core
    grid = parts.actions.grid
    return PairMetadata(
        agent=agent,
        kind=kind,
        action=parts.actions.kind,
        observation=parts.form.kind,
        glimpse_shape=list(core.glimpse_shape),
        num_classes=core.num_classes,
        num_glimpses=core.config.num_glimpses,
        canvas_shape=list(core.canvas_shape),
        with_state=bool(getattr(inner.source, "with_state", False)),
        grid=[] if grid is None else grid.tolist(),
        env_id=env_id,
        env_kwargs=_jsonable(env_kwargs or {}),
        model=describe_model(model),
    )


def save_pair(
    model: BaseAlgorithm,
    path: str | os.PathLike,
    metadata: PairMetadata,
    classifier: OnlineClassifier | None = None,
) -> Path:
    """Write the agent, the metadata and (``*_loop``) the classifier to ``path`` atomically.

    Returns the path written (``.zip`` appended if missing).
    """
    if (metadata.kind == "loop") != (classifier is not None):
        needs = "needs" if classifier is None else "has no"
        raise ValueError(f"a {metadata.kind} pair {needs} a classifier")
    path = Path(path)
    if path.suffix != ".zip":
        path = path.with_name(path.name + ".zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.zip")
    model.save(partial)
    with zipfile.ZipFile(partial, "a") as archive:
        archive.writestr(METADATA_MEMBER, json.dumps(asdict(metadata), indent=2))
        if classifier is not None:
            weights = io.BytesIO()
            torch.save(classifier.payload(), weights)
            archive.writestr(CLASSIFIER_MEMBER, weights.getvalue())
    os.replace(partial, path)
    return path


def can_load(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a zip written by :func:`save_pair` (a cheap peek, no SB3 import)."""
    path = Path(path)
    if path.suffix != ".zip" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return METADATA_MEMBER in archive.namelist()
    except zipfile.BadZipFile:
        return False


def read_pair_metadata(path: str | os.PathLike) -> PairMetadata:
    """The :class:`PairMetadata` of a file written by :func:`save_pair`.

    Raises:
        ValueError: not such a file, or a malformed metadata member (one line).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            values = json.loads(archive.read(METADATA_MEMBER))
    except (zipfile.BadZipFile, KeyError, OSError) as err:
        raise ValueError(
            f"{path} is not an agent saved by `glimpse-env train *_loop|*_hybrid` (no "
            f"{METADATA_MEMBER} in it)"
        ) from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: {METADATA_MEMBER} is not JSON ({err})") from err
    names = {f.name for f in fields(PairMetadata)}
    if not isinstance(values, dict) or not set(values) <= names:
        raise ValueError(f"{path}: {METADATA_MEMBER} is not a pair's metadata")
    try:
        return PairMetadata(**values)
    except TypeError as err:
        raise ValueError(f"{path}: {METADATA_MEMBER} lacks fields ({err})") from err


def _read_classifier(path: Path) -> OnlineClassifier:
    try:
        with zipfile.ZipFile(path) as archive:
            raw = archive.read(CLASSIFIER_MEMBER)
        payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except KeyError as err:
        raise ValueError(f"{path} has no {CLASSIFIER_MEMBER} (a *_loop agent needs it)") from err
    except Exception as err:  # torch raises many types for files that are not plain tensors
        raise ValueError(
            f"{path}: {CLASSIFIER_MEMBER} is not plain tensors ({first_line(err)})"
        ) from err
    try:
        return OnlineClassifier.from_payload(payload, source=f"{path}:{CLASSIFIER_MEMBER}")
    except CheckpointError as err:
        raise ValueError(str(err)) from err


def check_env_fits(metadata: PairMetadata, env: Any, path: str | os.PathLike) -> None:
    """Raise ValueError (one line naming the differences) unless ``env`` (an env, single or
    vector, or its core) has the configuration the pair was trained on."""
    core = env if isinstance(env, GlimpseCore) else getattr(env.unwrapped, "core", None)
    if core is None:
        raise ValueError(f"{path} acts in a glimpse env, got {type(env).__name__}")
    trained, given = metadata.configuration(), _configuration_of(core)
    differences = [
        f"{name} {given[name]} (trained: {trained[name]})"
        for name in trained
        if given[name] != trained[name]
    ]
    if differences:
        raise ValueError(
            f"{path} was trained on {metadata.env_id or 'another env'}; this env differs: "
            + ", ".join(differences)
        )


def load_pair(path: str | os.PathLike, env: Any = None, device: str = "cpu") -> LoopPolicy:
    """The :class:`LoopPolicy` of a file written by :func:`save_pair`.

    Args:
        path: the ``.zip``.
        env: the env (or its core) it will act in (optional): its configuration is checked.
        device: torch device of the SB3 model.

    Nothing in the file is unpickled: the SB3 model is rebuilt from its description and
    ``weights_only`` tensors, the classifier from ``weights_only`` tensors.

    Raises:
        ValueError: not such a file, an unknown agent, or an env of another configuration.
    """
    from agents.in_the_loop.algos import LOOP_AGENTS

    metadata = read_pair_metadata(path)
    spec = LOOP_AGENTS.get(metadata.agent)
    if spec is None:
        raise ValueError(
            f"{path}: unknown agent {metadata.agent!r}; known: {', '.join(LOOP_AGENTS)}"
        )
    if env is not None:
        check_env_fits(metadata, env, path)
    model = rebuild_model(path, metadata.model, spec.algo_class, device)
    classifier = _read_classifier(Path(path)) if metadata.kind == "loop" else None
    return LoopPolicy(model, metadata, classifier)


class LoopPolicy:
    """A trained pair acting in the env's native spaces (SB3's ``predict`` contract).

    The state it returns is ``(source, recurrent)``: the belief source of the running episodes
    (the classifier's state, or the hybrid's history) and the SB3 policy's recurrent state (for
    RecurrentPPO). Pass it back with ``episode_start`` true where an episode begins.

    Args:
        model: the SB3 agent.
        metadata: the pair's forms and configuration.
        classifier: the in-the-loop classifier (``*_loop``); None for a hybrid.
    """

    def __init__(
        self,
        model: BaseAlgorithm,
        metadata: PairMetadata,
        classifier: OnlineClassifier | None = None,
    ) -> None:
        self.model = model
        self.metadata = metadata
        self.classifier = classifier
        grid = torch.tensor(metadata.grid, dtype=torch.float32).reshape(-1, 2)
        self.actions = LocationAction(metadata.action, grid if metadata.action == "grid" else None)
        probe = self._source(1)
        self.form = ObservationForm(
            metadata.observation, tuple(metadata.glimpse_shape), probe.feature_key,
            probe.feature_size, probe.feature_low, probe.feature_high,
        )  # fmt: skip

    def _source(self, batch: int) -> BeliefSource:
        if self.classifier is not None:
            with_state = self.metadata.with_state
            return BeliefLoop(self.classifier, batch, learn=False, with_state=with_state)
        from agents.sb3.hybrid_env import HistoryLoop

        meta = self.metadata
        history = HistoryLoop(tuple(meta.glimpse_shape), meta.num_classes, meta.num_glimpses, batch)
        history.head = self.model.class_logits
        return history

    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: tuple[BeliefSource, Any] | None = None,
        episode_start: np.ndarray | bool | None = None,
        deterministic: bool = True,
    ) -> tuple[dict[str, np.ndarray], tuple[BeliefSource, Any]]:
        """The native action for one observation (or a batch), and the state to pass back.

        Returns:
            ``({"location": (2,), "logits": (n,)}, state)`` (``(B, ...)`` for a batch).
        """
        glimpse = np.asarray(observation["glimpse"], dtype=np.float32)
        location = np.asarray(observation["location"], dtype=np.float32)
        batched = location.ndim == 2
        if not batched:
            glimpse, location = glimpse[None], location[None]
        size = len(location)
        source, recurrent = state if state is not None else (self._source(size), None)
        starts = np.ones(size, dtype=bool) if state is None else np.zeros(size, dtype=bool)
        if episode_start is not None:
            starts = np.broadcast_to(np.asarray(episode_start, dtype=bool), (size,)).copy()
        source.advance(glimpse, location, start=torch.from_numpy(starts))
        agent_obs = self.form.build(glimpse, location, source.features())
        actions, recurrent = self.model.predict(
            agent_obs, state=recurrent, episode_start=starts, deterministic=deterministic
        )
        native = {
            "location": self.actions.decode(actions, size).numpy(),
            "logits": source.logits(agent_obs).detach().cpu().numpy().astype(np.float32),
        }
        if not batched:
            native = {key: value[0] for key, value in native.items()}
        return native, (source, recurrent)

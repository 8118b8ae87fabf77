"""``glimpse-env gif`` and ``glimpse-env play``: watch episodes as a GIF, or play one yourself.

::

    glimpse-env gif GlimpseEnv-v0 --policy random --episodes 3 --out episodes.gif \\
        --env-kwargs '{"split": "test"}'
    glimpse-env gif --policy runs/ram/best.pt --out ram.gif   # the env the RAM was trained on
    glimpse-env play GlimpseEnv-cluttered60-v0 --env-kwargs '{"split": "test"}'
    glimpse-env play GlimpseEnv-cluttered60-v0 --policy pretrained   # watch the pretrained RAM

The environment id may come first, as a positional argument, or as ``--env ID``. With a policy
file, ``gif`` makes the env the file was trained on (:func:`~glimpse_env.commands.policies.
policy_env`); an id or ``--env-kwargs`` given on the command line override it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import glimpse_env  # noqa: F401  (registers the ids)
from glimpse_env.commands.cli_args import parse_args, parse_json_object
from glimpse_env.commands.episodes import run_episode
from glimpse_env.commands.policies import (
    DEFAULT_ENV,
    EnvChoice,
    Policy,
    load_policy,
    policy_env,
)
from glimpse_env.pictures.recording import write_gif

__all__ = ["GifArgs", "PlayArgs", "gif_main", "make_env", "play_main", "run_episode"]


@dataclass
class GifArgs:
    """Write a GIF of episodes of a glimpse environment."""

    env: str | None = None
    """The environment id (may also be the first, positional argument); default: the one the
    policy file was trained on, else GlimpseEnv-v0."""
    policy: str = "random"
    """Who acts: random, center, scan, or a policy file such as a RAM checkpoint."""
    episodes: int = 3
    """Episodes in the GIF, one after another."""
    out: str = "episodes.gif"
    """The GIF file to write."""
    seed: int = 0
    """Seed of the first reset (and of the random policy)."""
    env_kwargs: str = "{}"
    """Extra gym.make kwargs as JSON, e.g. '{"split": "test"}'; over a policy file's own."""
    fps: float | None = None
    """Frames per second; default the env's metadata["render_fps"]."""
    end_pause: float = 1.0
    """Seconds the last frame of each episode stays up."""
    loop: int = 0
    """Times a player loops the GIF (0: forever)."""


@dataclass
class PlayArgs:
    """Play a glimpse environment yourself in a pygame window, or watch a policy play it."""

    env: str | None = None
    """The environment id (may also be given as the first, positional argument); default: the
    one the policy file was trained on, else GlimpseEnv-v0."""
    policy: str | None = None
    """Watch this policy play instead of playing: random, center, scan, pretrained, or a policy
    file such as a RAM checkpoint (as for glimpse-env gif)."""
    seed: int | None = None
    """Seed of the first reset (None: random)."""
    episodes: int | None = None
    """Stop after this many episodes (None: until the window is closed)."""
    env_kwargs: str = "{}"
    """Extra gym.make kwargs as JSON, e.g. '{"split": "test"}'. A person's game defaults to
    early_stop=true."""
    fps: float | None = None
    """Window refresh rate (playing: 30), or steps shown a second (watching: the env's
    render_fps)."""
    end_pause: float = 1.0
    """Watching: seconds each episode's last frame stays up."""


def _positional_env(argv: Sequence[str]) -> list[str]:
    """Accept ``ID ...`` for ``--env ID ...``."""
    argv = list(argv)
    if argv and not argv[0].startswith("-"):
        return ["--env", argv[0], *argv[1:]]
    return argv


def make_env(
    env_id: str, env_kwargs: str, render_mode: str, defaults: dict[str, Any] | None = None
) -> gym.Env:
    """``gym.make(env_id, render_mode=..., **defaults, **<the JSON object env_kwargs>)``.

    Raises:
        ValueError: ``env_kwargs`` is not a JSON object.
    """
    kwargs = parse_json_object(env_kwargs)
    return gym.make(env_id, render_mode=render_mode, **{**(defaults or {}), **kwargs})


def _fail(command: str, err: BaseException) -> int:
    print(f"glimpse-env {command}: error: {err}", file=sys.stderr)
    return 2


_USER_ERRORS = (ValueError, FileNotFoundError, ImportError, gym.error.Error)
"""Errors of arguments, files and installs: one line on stderr and exit code 2, no traceback."""


def _check_gif_args(args: GifArgs) -> None:
    """Refuse bad values before anything is made or written.

    Raises:
        ValueError: naming the flag and what it takes.
    """
    if args.episodes < 1:
        raise ValueError(f"--episodes must be at least 1, got {args.episodes}")
    if args.fps is not None and not args.fps > 0:
        raise ValueError(f"--fps must be positive, got {args.fps}")
    if not args.end_pause >= 0:
        raise ValueError(f"--end-pause must be >= 0 seconds, got {args.end_pause}")
    if args.loop < 0:
        raise ValueError(f"--loop must be >= 0 (0: forever), got {args.loop}")
    out = Path(args.out)
    if out.is_dir():
        raise ValueError(f"--out must name a file, {out} is a folder")
    if any(parent.exists() and not parent.is_dir() for parent in out.parents):
        raise ValueError(f"--out {out}: a parent of it is a file, not a folder")


def _policy_in_its_env(
    spec: str, env_id: str | None, env_kwargs: str, seed: int | None
) -> tuple[EnvChoice, gym.Env, Policy]:
    """The ``rgb_array`` env a ``--policy`` acts in (:func:`policy_env`) and the policy.

    Prints the choice's note (the env differs from the policy's training env) on stderr.
    """
    choice = policy_env(spec, env_id, parse_json_object(env_kwargs))
    env = gym.make(choice.env_id, render_mode="rgb_array", **choice.kwargs)
    policy = load_policy(spec, env, seed=seed)
    if choice.note:
        print(choice.note, file=sys.stderr)
    return choice, env, policy


def gif_main(argv: Sequence[str] | None = None) -> int:
    """``glimpse-env gif [ID] --policy P --episodes N --out FILE.gif [...]``."""
    args = parse_args(
        GifArgs, _positional_env(sys.argv[1:] if argv is None else argv), prog="glimpse-env gif"
    )
    try:
        _check_gif_args(args)
        choice, env, policy = _policy_in_its_env(args.policy, args.env, args.env_kwargs, args.seed)
    except _USER_ERRORS as err:
        return _fail("gif", err)
    fps = args.fps or float(env.metadata.get("render_fps", 4))
    frames: list[np.ndarray] = []
    durations: list[float] = []
    right = 0
    for episode in range(args.episodes):
        episode_frames, info = run_episode(env, policy, args.seed if episode == 0 else None)
        frames += episode_frames
        durations += [1000.0 / fps] * (len(episode_frames) - 1) + [
            1000.0 / fps + 1000.0 * args.end_pause
        ]
        right += bool(info.get("correct", False))
    env.close()
    path = write_gif(args.out, frames, fps, args.loop, durations)
    print(
        f"wrote {path}: {args.episodes} episodes of {choice.env_id} by {args.policy!r}, "
        f"{len(frames)} frames, {right}/{args.episodes} right"
    )
    return 0


def play_main(argv: Sequence[str] | None = None) -> int:
    """``glimpse-env play [ID] [--policy P] [--seed S] [--episodes N] [--env-kwargs JSON]``."""
    args = parse_args(
        PlayArgs, _positional_env(sys.argv[1:] if argv is None else argv), prog="glimpse-env play"
    )
    if args.policy is not None:
        return _watch_main(args)
    from glimpse_env.commands.play import play

    try:
        if args.fps is not None and not args.fps > 0:
            raise ValueError(f"--fps must be positive, got {args.fps}")
        env = make_env(
            args.env or DEFAULT_ENV, args.env_kwargs, "rgb_array", defaults={"early_stop": True}
        )
    except _USER_ERRORS as err:
        return _fail("play", err)
    session = play(env, seed=args.seed, max_episodes=args.episodes, fps=args.fps or 30.0)
    env.close()
    print(f"score: {session.right}/{session.played} right")
    return 0


def _watch_main(args: PlayArgs) -> int:
    """``glimpse-env play --policy P``: the policy plays, in the window, on its own env."""
    from glimpse_env.commands.watch import watch

    try:
        if args.fps is not None and not args.fps > 0:
            raise ValueError(f"--fps must be positive, got {args.fps}")
        if not args.end_pause >= 0:
            raise ValueError(f"--end-pause must be >= 0 seconds, got {args.end_pause}")
        if args.episodes is not None and args.episodes < 1:
            raise ValueError(f"--episodes must be at least 1, got {args.episodes}")
        assert args.policy is not None
        choice, env, policy = _policy_in_its_env(args.policy, args.env, args.env_kwargs, args.seed)
    except _USER_ERRORS as err:
        return _fail("play", err)
    fps = args.fps or float(env.metadata.get("render_fps", 4))
    score = watch(env, policy, args.seed, args.episodes, fps, args.end_pause)
    env.close()
    print(f"{args.policy!r} on {choice.env_id}: {score.right}/{score.played} right")
    return 0

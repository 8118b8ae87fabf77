"""GIF writing, the RecordGif wrapper and ``glimpse-env gif``."""

from __future__ import annotations

import os
import stat

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest
import torch

import glimpse_env  # noqa: F401
from glimpse_env.commands import cli
from glimpse_env.data import ImageDataset
from glimpse_env.pictures.recording import RecordGif, cubic_schedule, write_gif


def frames(count: int, height: int = 12, width: int = 16) -> list[np.ndarray]:
    """Distinct frames: frame i is filled with the grey 20*i."""
    return [np.full((height, width, 3), 20 * i, np.uint8) for i in range(count)]


def small_env(**kwargs) -> gym.Env:
    data = ImageDataset(
        torch.randint(0, 256, (4, 1, 28, 28), dtype=torch.uint8),
        torch.arange(4),
        classes=tuple("0123456789"),
    )
    return gym.make("GlimpseEnv-v0", dataset=data, render_mode="rgb_array", **kwargs)


def test_write_gif_round_trip(tmp_path):
    path = write_gif(tmp_path / "sub" / "a.gif", frames(5), fps=5, loop=0)
    back = iio.imread(path, index=None)
    assert back.shape == (5, 12, 16, 3)
    np.testing.assert_array_equal(back[:, 0, 0, 0], [0, 20, 40, 60, 80])
    meta = iio.immeta(path, index=0)
    assert meta["duration"] == 200 and meta["loop"] == 0
    assert sorted(os.listdir(tmp_path / "sub")) == ["a.gif"]  # no temporary file left
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode & 0o044  # readable by others (not mkstemp's 0600), umask permitting


def test_write_gif_per_frame_durations_and_atomic_replace(tmp_path, monkeypatch):
    path = tmp_path / "b.gif"
    write_gif(path, frames(3), durations=[100, 100, 1000])
    assert iio.immeta(path, index=2)["duration"] == 1000
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(iio, "imwrite", broken)
    with pytest.raises(OSError, match="disk full"):
        write_gif(path, frames(4))
    assert path.read_bytes() == before  # the old file is intact
    assert sorted(os.listdir(tmp_path)) == ["b.gif"]


@pytest.mark.parametrize(
    "bad, match",
    [([], "at least one"), ([np.zeros((4, 4), np.uint8)], r"\(H, W, 3\) uint8")],
)
def test_write_gif_refuses_bad_frames(tmp_path, bad, match):
    with pytest.raises(ValueError, match=match):
        write_gif(tmp_path / "c.gif", bad)


def test_record_gif_one_frame_per_step(tmp_path):
    env = RecordGif(small_env(num_glimpses=4), tmp_path, episode_trigger=lambda i: i in (0, 2))
    for episode in range(3):
        env.reset(seed=episode)
        done, steps = False, 0
        while not done:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            done, steps = terminated or truncated, steps + 1
    assert [p.name for p in env.paths] == ["glimpse-episode-0.gif", "glimpse-episode-2.gif"]
    for path in env.paths:
        back = iio.imread(path, index=None)
        assert back.shape[0] == steps + 1  # the reset frame and one per step
        assert back.shape[1:] == env.render().shape
    env.close()


def test_record_gif_close_writes_the_running_episode(tmp_path):
    env = RecordGif(small_env(), tmp_path, episode_trigger=lambda i: True, name_prefix="x", fps=2)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    env.close()
    (path,) = env.paths
    assert path.name == "x-episode-0.gif"
    assert iio.imread(path, index=None).shape[0] == 2
    assert iio.immeta(path, index=0)["duration"] == 500


def test_record_gif_needs_rgb_array():
    data = ImageDataset(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), torch.arange(2), ("a", "b"))
    with pytest.raises(ValueError, match="rgb_array"):
        RecordGif(gym.make("GlimpseEnv-v0", dataset=data), "unused")


def test_cubic_schedule():
    assert [i for i in range(30) if cubic_schedule(i)] == [0, 1, 8, 27]
    assert cubic_schedule(2000) and not cubic_schedule(1001)


def test_gif_command_writes_one_gif_of_n_episodes(tmp_path, shared_data, capsys):
    out = tmp_path / "episodes.gif"
    argv = ["gif", "GlimpseEnv-v0", "--policy", "center", "--episodes", "2", "--out", str(out)]
    argv += ["--env-kwargs", '{"split": "test", "num_glimpses": 3}', "--end-pause", "0.5"]
    assert cli.main(argv) == 0
    back = iio.imread(out, index=None)
    assert back.shape[0] == 2 * (3 + 1)  # two episodes of a reset frame and three steps
    assert iio.immeta(out, index=3)["duration"] == 250 + 500  # each episode's end is held
    assert "2 episodes" in capsys.readouterr().out


def test_gif_command_is_reproducible_with_a_seed(tmp_path, shared_data):
    outs = [tmp_path / "a.gif", tmp_path / "b.gif"]
    for out in outs:
        args = ["gif", "GlimpseEnv-v0", "--episodes", "1", "--out", str(out), "--seed", "3"]
        assert cli.main([*args, "--env-kwargs", '{"split": "test"}']) == 0
    np.testing.assert_array_equal(iio.imread(outs[0], index=None), iio.imread(outs[1], index=None))


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--policy", "nonsense"], "accepted: 'random', 'center', 'scan'"),
        (["--env-kwargs", "{not json"], "JSON object"),
        (["--episodes", "0"], "at least 1"),
        (["--fps", "0"], "--fps must be positive"),
        (["--end-pause", "-1"], "--end-pause must be >= 0"),
        (["--loop", "-1"], "--loop must be >= 0"),
        (["--out", "."], "--out must name a file"),
        (["--out", "notes.txt/x.gif"], "a parent of it is a file"),
        (["--env", "NoSuchEnv-v0"], "NoSuchEnv"),
    ],
)
def test_gif_command_errors_are_one_line_before_anything_is_written(
    tmp_path, shared_data, capsys, monkeypatch, extra, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("a file")
    argv = ["gif", "--out", "sub/x.gif"]
    if "--env" not in extra:
        argv += ["--env", "GlimpseEnv-v0"]
    if "--env-kwargs" not in extra:
        argv += ["--env-kwargs", '{"split": "test"}']
    assert cli.main(argv + extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

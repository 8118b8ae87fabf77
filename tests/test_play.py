"""Human play driven by posted pygame events under the dummy video driver."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import glimpse_env  # noqa: F401
from glimpse_env.commands.play import HEADER, Command, PlaySession, event_command, play, play_once
from glimpse_env.data import ImageDataset


@pytest.fixture
def pygame(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    import pygame

    yield pygame
    pygame.display.quit()


@pytest.fixture
def window(pygame):
    from glimpse_env.pictures.window import Window

    win = Window("test")
    win.show(np.zeros((8, 8, 3), np.uint8))  # opens the display, so events can be posted
    yield win
    win.close()


def make_env(early_stop: bool = True, num_glimpses: int = 3) -> gym.Env:
    data = ImageDataset(
        torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8),
        torch.tensor([7, 7, 7, 7, 7]),
        classes=tuple("0123456789"),
    )
    return gym.make(
        "GlimpseEnv-v0",
        dataset=data,
        render_mode="rgb_array",
        early_stop=early_stop,
        num_glimpses=num_glimpses,
    )


def click_at(pygame, layout, row: int, col: int):
    """A left click at frame pixel (row, col) of the env frame (below the play header)."""
    return pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(col, row + HEADER), button=1)


def key(pygame, code: int):
    return pygame.event.Event(pygame.KEYDOWN, key=code)


def test_event_command_maps_keys_and_clicks(pygame):
    session = PlaySession(make_env(), seed=0)
    layout, n = session.layout, session.num_classes
    z = layout.zoom
    # Image pixel (row 5, col 20) -> the centre of that pixel: x = 20.5/14 - 1, y = 5.5/14 - 1.
    click = click_at(pygame, layout, layout.image.top + 5 * z + 1, layout.image.left + 20 * z + 2)
    command = event_command(click, layout, n, done=False)
    assert command.kind == "look"
    np.testing.assert_allclose(command.location, (20.5 / 14 - 1, 5.5 / 14 - 1))
    bar = layout.bars[4]
    assert event_command(
        click_at(pygame, layout, bar.top + 3, bar.left + 40), layout, n, done=False
    ) == Command("guess", label=4)
    assert event_command(key(pygame, pygame.K_3), layout, n, False) == Command("guess", label=3)
    assert event_command(key(pygame, pygame.K_KP9), layout, n, False) == Command("guess", label=9)
    assert event_command(key(pygame, pygame.K_ESCAPE), layout, n, False) == Command("quit")
    assert event_command(pygame.event.Event(pygame.QUIT), layout, n, False) == Command("quit")
    assert event_command(key(pygame, pygame.K_SPACE), layout, n, done=False) is None
    assert event_command(key(pygame, pygame.K_SPACE), layout, n, done=True) == Command("next")
    assert event_command(click, layout, n, done=True) == Command("next")
    assert event_command(key(pygame, pygame.K_3), layout, n, done=True) is None
    assert event_command(key(pygame, pygame.K_a), layout, n, done=False) is None
    outside = click_at(pygame, layout, layout.status.top + 2, 2)
    assert event_command(outside, layout, n, done=False) is None


@pytest.mark.parametrize("early_stop", [True, False])
def test_posted_events_look_guess_and_score(pygame, window, early_stop):
    env = make_env(early_stop=early_stop, num_glimpses=3)
    session = PlaySession(env, seed=0)
    layout, z = session.layout, session.layout.zoom
    state = env.unwrapped.state
    pygame.event.post(
        click_at(pygame, layout, layout.image.top + 2 * z, layout.image.left + 25 * z)
    )
    play_once(session, window)
    state = env.unwrapped.state
    np.testing.assert_allclose(state.location[0].numpy(), (25.5 / 14 - 1, 2.5 / 14 - 1))
    assert session.glimpses_left == 1 and not session.done

    pygame.event.post(key(pygame, pygame.K_7))  # the right class, with a glimpse to spare
    play_once(session, window)
    assert session.done and (session.right, session.played) == (1, 1)
    trace = env.unwrapped.renderer.traces[0]
    assert trace.done and trace.guess == 7
    assert len(trace.locations) == (2 if early_stop else 3)  # without early stop: looks again

    pygame.event.post(key(pygame, pygame.K_SPACE))
    play_once(session, window)
    assert not session.done and env.unwrapped.state.steps[0] == 0
    bar = layout.bars[2]
    pygame.event.post(click_at(pygame, layout, bar.top + 3, bar.left + 3))  # guess 2: wrong
    play_once(session, window)
    assert (session.right, session.played) == (1, 2)
    frame = session.frame()
    assert frame.shape == (HEADER + layout.height, layout.width, 3)
    assert window.size == (frame.shape[1], frame.shape[0])


def test_no_look_past_the_last_glimpse(pygame, window):
    env = make_env(num_glimpses=2)
    session = PlaySession(env, seed=0)
    session.apply(Command("look", location=(0.0, 0.0)))
    assert session.glimpses_left == 0
    session.apply(Command("look", location=(0.5, 0.5)))
    assert "GUESS" in session.message and not session.done
    assert env.unwrapped.state.steps[0] == 1


def test_play_loop_runs_until_quit(pygame, window):
    for event in (key(pygame, pygame.K_1), key(pygame, pygame.K_RETURN), key(pygame, pygame.K_q)):
        pygame.event.post(event)
    session = play(make_env(), seed=0, fps=1000, window=window)
    assert not session.running and session.played == 1
    assert not window.is_open


def test_play_stops_after_max_episodes_and_closing_the_window(pygame, window):
    pygame.event.post(key(pygame, pygame.K_7))
    pygame.event.post(key(pygame, pygame.K_SPACE))  # "next" after the last episode: stop
    session = play(make_env(), seed=0, max_episodes=1, fps=1000, window=window)
    assert (session.right, session.played) == (1, 1)


def test_play_needs_rgb_array():
    data = ImageDataset(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), torch.arange(2), ("a", "b"))
    with pytest.raises(ValueError, match="rgb_array"):
        PlaySession(gym.make("GlimpseEnv-v0", dataset=data))


# ---- watching a policy play: glimpse-env play --policy P -------------------------------------


class Guesser:
    """Looks at the centre and guesses ``label`` (SB3's predict signature)."""

    def __init__(self, label: int) -> None:
        self.label = label

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        logits = np.zeros(10, np.float32)
        logits[self.label] = 5.0
        return {"location": np.zeros(2, np.float32), "logits": logits}, state


class Recorder:
    """A window that records what it is shown and waits, and posts ``quit_after`` a show."""

    def __init__(self, pygame, quit_after: int | None = None) -> None:
        self.pygame, self.quit_after = pygame, quit_after
        self.shown: list[np.ndarray] = []
        self.waits = 0
        self.is_open = True

    def show(self, frame):
        self.shown.append(frame)

    def pump(self):
        if self.quit_after is not None and len(self.shown) >= self.quit_after:
            return [key(self.pygame, self.pygame.K_ESCAPE)]
        return []

    def wait(self, fps):
        self.waits += 1

    def close(self):
        self.is_open = False


@pytest.mark.parametrize(("label", "right"), [(7, 3), (2, 0)])
def test_watch_scores_the_policy_and_holds_each_last_frame(pygame, label, right):
    from glimpse_env.commands.watch import HEADER as BAND
    from glimpse_env.commands.watch import watch

    env = make_env(early_stop=False, num_glimpses=3)  # every image is a 7
    window = Recorder(pygame)
    score = watch(env, Guesser(label), seed=0, max_episodes=3, fps=4, end_pause=0.5, window=window)
    assert (score.played, score.right) == (3, right)
    frames_per_episode = 1 + 3  # the reset and each step
    assert len(window.shown) == 3 * frames_per_episode
    assert window.waits == 3 * (frames_per_episode + 2)  # the last frame: 0.5 s more at 4 fps
    layout = env.unwrapped.renderer.layout
    assert {f.shape for f in window.shown} == {(BAND + layout.height, layout.width, 3)}
    assert not window.is_open  # closed on return


def test_watch_stops_when_the_user_presses_escape(pygame):
    from glimpse_env.commands.watch import watch

    window = Recorder(pygame, quit_after=6)  # during the second episode
    env = make_env(early_stop=False, num_glimpses=3)
    score = watch(env, Guesser(7), seed=0, max_episodes=5, fps=1000, window=window)
    assert score.played == 1 and len(window.shown) == 6 and not window.is_open


def test_play_command_watches_a_named_policy(pygame, shared_data, capsys):
    from glimpse_env.commands.render_cli import play_main

    code = play_main(
        ["GlimpseEnv-v0", "--policy", "center", "--episodes", "2", "--fps", "1000",
         "--end-pause", "0", "--seed", "0", "--env-kwargs", '{"split": "test[:20]"}'],
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.startswith("'center' on GlimpseEnv-v0: ")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--fps", "0"], "--fps must be positive, got 0.0"),
        (["--end-pause", "-1"], "--end-pause must be >= 0 seconds, got -1.0"),
        (["--episodes", "0"], "--episodes must be at least 1, got 0"),
        (["--policy", "nosuch.pt"], "nosuch.pt"),
    ],
)
def test_play_command_watch_errors_are_one_line(pygame, capsys, flags, message):
    from glimpse_env.commands.render_cli import play_main

    argv = ["GlimpseEnv-v0", *(flags if "--policy" in flags else ["--policy", "random", *flags])]
    assert play_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("glimpse-env play: error: ") and message in err
    assert err.count("\n") == 1

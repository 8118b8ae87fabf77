"""Learning curves from finished training episodes, against env steps: one format for all agents.

Each agent's trainer feeds the episodes it finishes (was the final guess right, what return) and
its running count of env steps; a point is emitted every ``interval`` env steps with the mean
over the episodes finished since the last point. The benchmark plots these points.

>>> curve = LearningCurve(interval=100)
>>> curve.add(60, correct=[True, False], returns=[1.0, 0.0])
>>> curve.add(120, correct=[True], returns=[1.0])
>>> curve.points
[{'env_steps': 120, 'accuracy': 0.6666666666666666, 'return': 0.6666666666666666, 'episodes': 3}]
>>> curve.add(130, correct=[True], returns=[1.0])
>>> curve.finish(130)  # one episode is fewer than half of 3: it joins the last point
>>> curve.points
[{'env_steps': 130, 'accuracy': 0.75, 'return': 0.75, 'episodes': 4}]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["LearningCurve", "Point"]

Point = dict[str, float | int]
"""One point of a curve: ``{"env_steps", "accuracy", "return", "episodes"}``."""


class LearningCurve:
    """Training accuracy and return against env steps.

    Args:
        interval: env steps between points (at least 1).
        on_point: called with each new point as it is emitted (how the benchmark shows a
            running cell's progress); None: nothing is called.

    Attributes:
        points: ``[{"env_steps", "accuracy", "return", "episodes"}, ...]`` in step order.
    """

    def __init__(self, interval: int, on_point: Callable[[Point], None] | None = None) -> None:
        self.interval = max(int(interval), 1)
        self.on_point = on_point
        self.points: list[Point] = []
        self._correct: list[bool] = []
        self._returns: list[float] = []
        self._next = self.interval

    def add(self, env_steps: int, correct: Sequence[bool], returns: Sequence[float]) -> None:
        """Record episodes finished by ``env_steps`` (the trainer's running total)."""
        self._correct.extend(bool(c) for c in correct)
        self._returns.extend(float(r) for r in returns)
        if env_steps >= self._next:
            self.flush(env_steps)
            self._next = (env_steps // self.interval + 1) * self.interval

    def flush(self, env_steps: int) -> None:
        """Emit a point for the episodes not yet in one (none if there are none)."""
        if not self._correct:
            return
        count = len(self._correct)
        self.points.append(
            {
                "env_steps": int(env_steps),
                "accuracy": sum(self._correct) / count,
                "return": sum(self._returns) / count,
                "episodes": count,
            }
        )
        self._correct, self._returns = [], []
        if self.on_point is not None:
            self.on_point(dict(self.points[-1]))

    def finish(self, env_steps: int) -> None:
        """At the end of training: the remaining episodes become a point, or, if they are fewer
        than half the last point's, join it (a handful of episodes would plot as a spike)."""
        if self.points and len(self._correct) < self.points[-1]["episodes"] / 2:
            last, count = self.points[-1], self.points[-1]["episodes"] + len(self._correct)
            for key, values in (("accuracy", self._correct), ("return", self._returns)):
                last[key] = (last[key] * last["episodes"] + sum(values)) / count
            last.update(env_steps=int(env_steps), episodes=count)
            self._correct, self._returns = [], []
        self.flush(env_steps)

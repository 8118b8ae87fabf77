"""One training harness for every trainer here: shared arguments, the epoch loop, resume.

- :mod:`~agents.harness.args`: :class:`TrainArgs` (and :class:`EnvArgs`, :class:`RunArgs`), the
  dataclasses each trainer's ``Args`` extends;
- :mod:`~agents.harness.loop`: :func:`fit`, the epoch loop, and the :class:`Trainer` protocol a
  trainer implements (model, loss, tests);
- :mod:`~agents.harness.budget`: :class:`StepArgs` and :func:`train_save_test` for trainers with
  a budget of env steps whose algorithm owns its loop (the SB3 family);
- :mod:`~agents.harness.optimization`: Adam with batch scaling, warm-up and the schedule;
- :mod:`~agents.harness.resume`, :mod:`~agents.harness.metrics`: exact resume, metrics files;
- :mod:`~agents.harness.envs`, :mod:`~agents.harness.threads`, :mod:`~agents.harness.command`:
  cores from env kwargs, torch threads, the command wrapper.

``docs/training.md`` shows a new trainer plugging in.
"""

from agents.harness.args import EnvArgs, RunArgs, TrainArgs
from agents.harness.command import print_written, run_command
from agents.harness.envs import make_core, make_test_core
from agents.harness.loop import BaseTrainer, Trainer, epoch_batches, fit
from agents.harness.optimization import Optimization
from agents.harness.threads import torch_threads

__all__ = [
    "BaseTrainer",
    "EnvArgs",
    "Optimization",
    "RunArgs",
    "TrainArgs",
    "Trainer",
    "epoch_batches",
    "fit",
    "make_core",
    "make_test_core",
    "print_written",
    "run_command",
    "torch_threads",
]

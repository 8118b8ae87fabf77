"""RAM learns with a larger batch and the square-root learning-rate rule, as at batch 64.

The same task and bar as ``tests/test_ram_learning.py`` (8,000 training images of the shared
MNIST set, >= 80% on the 2,000 held out), trained through the stacked trainer at 4x that test's
batch with ``--lr-scaling sqrt`` (``docs/benchmarks-train.md``: batch 256 with this rule keeps
batch 128's sample efficiency; batch 1024 does not). A fixed number of epochs, not a time
limit; it plays 10 x 8,000 episodes at 256 per step, in about the CPU time of the batch-64 test.
"""

from __future__ import annotations

import time

import pytest

from agents.ram.train import Args, train
from glimpse_env.data.catalog import SHARED_TEST_SPLIT, SHARED_TRAIN_SPLIT, load_dataset
from glimpse_env.data.root import DatasetNotFoundError


def test_ram_learns_mnist_at_a_larger_batch_with_the_sqrt_rule(tmp_path):
    try:
        load_dataset("mnist", SHARED_TRAIN_SPLIT, download=False)
    except DatasetNotFoundError:
        pytest.skip("the shared MNIST test set is not on this machine")
    args = Args(
        env="GlimpseEnv-v0",
        split=SHARED_TRAIN_SPLIT,
        test_split=SHARED_TEST_SPLIT,
        epochs=10,
        batch_size=256,
        learning_rate=1e-3,
        lr_scaling="sqrt",  # 1e-3 at batch 128 -> 1.41e-3 at 256
        seed=1,
        threads=1,
        out=str(tmp_path),
        progress=False,
        tensorboard=False,
    )
    cpu_started = time.process_time()
    summary = train(args)
    cpu_seconds = time.process_time() - cpu_started
    accuracy = summary["results"][0]["accuracy"]
    print(f"RAM at batch 256: {100 * accuracy:.1f}% after {cpu_seconds:.0f} s of CPU time")
    assert accuracy >= 0.80

"""Stable-Baselines3 baselines on the glimpse envs: PPO, A2C, DQN and RecurrentPPO.

- :mod:`~agents.sb3.algos`: the algorithms, their action forms and default hyperparameters.
- :mod:`~agents.sb3.train`: :func:`~agents.sb3.train.train_sb3` and ``glimpse-env train ALGO``.
- :mod:`~agents.sb3.policy`: saved models (SB3's zip plus decoding metadata) as policies with
  native actions, for ``glimpse-env gif``, evaluation and the benchmark.
- :mod:`~agents.sb3.metadata`: that metadata, readable without importing SB3.

This package imports nothing itself, so that peeking at a file (``metadata.can_load``) stays
cheap; import the submodules.

>>> from agents.sb3.train import train_sb3
>>> run = train_sb3("dqn", "GlimpseEnv-v0", steps=50_000, env_kwargs={"split": "test[:8000]"})
... # doctest: +SKIP
>>> action, state = run.policy.predict(obs)  # doctest: +SKIP
"""

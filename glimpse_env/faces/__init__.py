"""The faces of the one batched core: what clients step.

- :mod:`~glimpse_env.faces.env`: :class:`GlimpseEnv`, the single Gymnasium env;
- :mod:`~glimpse_env.faces.vector`: :class:`GlimpseVectorEnv`, the Gymnasium ``VectorEnv``;
- :mod:`~glimpse_env.faces.wrappers`: flat Box and discrete-grid actions;
- :mod:`~glimpse_env.faces.sb3`: the Stable-Baselines3 ``VecEnv`` adapter (imports SB3).
"""

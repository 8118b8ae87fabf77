"""Any RL library learns where to look: a recurrent glimpse classifier in the loop.

The wrappers put an online-trained classifier between a glimpse env and an unchanged RL agent:
the classifier reads every glimpse, sends its logits to the env as the class belief and learns
by the env's prediction loss on the episodes it sees; the agent acts only on the location and
observes the classifier's belief. One classifier module, three faces:

- :mod:`~agents.in_the_loop.wrapper`: :class:`InTheLoop`, a ``gymnasium.Wrapper`` of one env;
- :mod:`~agents.in_the_loop.vector`: :class:`InTheLoopVectorEnv`, over the batched vector env;
- :mod:`~agents.in_the_loop.sb3`: :class:`InTheLoopSB3VecEnv`, the SB3 VecEnv adapter's.

Also here: the classifier (:mod:`~agents.in_the_loop.classifier`), the agents trained through it
and the APPLE-style hybrids of :mod:`agents.sb3.hybrid` (:mod:`~agents.in_the_loop.algos`,
:mod:`~agents.in_the_loop.train`), a trained pair's file and policy
(:mod:`~agents.in_the_loop.pair`). This package imports nothing itself; import the submodules.
"""

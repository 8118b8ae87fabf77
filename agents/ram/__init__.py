"""RAM, the recurrent attention model (Mnih et al. 2014), trained against the glimpse envs.

>>> from agents.ram import RAMAgent
>>> agent = RAMAgent.from_checkpoint("runs/ram/best.pt", device="cpu")  # doctest: +SKIP
>>> action, state = agent.predict(obs, state=None)  # doctest: +SKIP

Modules: :mod:`~agents.ram.model` (the network), :mod:`~agents.ram.rollout` (episodes on the
env's batched core and the hybrid loss), :mod:`~agents.ram.stacked` and
:mod:`~agents.ram.stacked_rollout` (R runs stepped together, no host synchronisation),
:mod:`~agents.ram.train` (``glimpse-env train ram``; ``--seeds`` and several ``--env`` ids
train together through :mod:`~agents.ram.multirun`), :mod:`~agents.ram.evaluate`
(``glimpse-env eval ram``), :mod:`~agents.ram.checkpoint`, :mod:`~agents.ram.agent`
(:class:`RAMAgent`, the ``predict`` API, ``from_pretrained``), :mod:`~agents.ram.pretrained`
and :mod:`~agents.ram.publish` (the agents shipped with the package) and
:mod:`~agents.ram.baselines` (the paper's CNN and MLP on full canvases).
"""

from agents.ram.agent import RAMAgent
from agents.ram.checkpoint import CheckpointError
from agents.ram.model import RAMConfig, RecurrentAttentionModel

__all__ = ["CheckpointError", "RAMAgent", "RAMConfig", "RecurrentAttentionModel"]

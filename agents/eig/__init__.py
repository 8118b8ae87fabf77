"""The probabilistic hard-attention agent (Rangrej & Clark, BMVC 2021): glimpses by lookahead.

Instead of a learned location policy, the agent imagines the features of the glimpses it has not
taken (a partial VAE with a normalising-flow encoder) and looks where it expects to learn most
about the class (expected information gain over the env's discrete location grid).

- :mod:`agents.eig.model`: F, R, C and the partial VAE; :mod:`agents.eig.flow`: the flow encoder;
- :mod:`agents.eig.lookahead`: the batched EIG scorer; :mod:`agents.eig.episodes`: playing
  batches on the env's core with the EIG, random or centre rule;
- :mod:`agents.eig.train` (``glimpse-env train eig``), :mod:`agents.eig.evaluate`
  (``glimpse-env eval eig``), :mod:`agents.eig.agent` (:class:`EIGAgent`, SB3-style predict),
  :mod:`agents.eig.render` (EIG heat maps).
"""

from agents.eig.agent import EIGAgent
from agents.eig.lookahead import expected_information_gain, information_gain
from agents.eig.model import EIGConfig, EIGModel

__all__ = ["EIGAgent", "EIGConfig", "EIGModel", "expected_information_gain", "information_gain"]

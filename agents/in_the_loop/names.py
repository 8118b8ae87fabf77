"""The agents that learn where to look, by name, with one line each: readable without SB3.

The command line's listings and the benchmark's table of agents read this; their algorithms and
settings are :data:`agents.in_the_loop.algos.LOOP_AGENTS` (a test keeps the names equal).
"""

from __future__ import annotations

__all__ = ["DESCRIPTIONS"]

_LOOP = "; an online classifier in the loop guesses"
_HYBRID = " + a class head in its network, trained by the env's loss (APPLE)"

DESCRIPTIONS: dict[str, str] = {
    "sac_loop": "SB3 SAC learns where to look" + _LOOP,
    "crossq_loop": "sb3-contrib CrossQ learns where to look" + _LOOP,
    "ppo_loop": "SB3 PPO learns where to look" + _LOOP,
    "a2c_loop": "SB3 A2C learns where to look" + _LOOP,
    "dqn_loop": "SB3 DQN picks grid cells to look at" + _LOOP,
    "recurrent_ppo_loop": "sb3-contrib RecurrentPPO learns where to look" + _LOOP,
    "sac_hybrid": "SAC learns where to look" + _HYBRID,
    "crossq_hybrid": "CrossQ learns where to look" + _HYBRID,
    "ppo_hybrid": "PPO learns where to look" + _HYBRID,
}
"""name -> one line."""

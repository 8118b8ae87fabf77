"""Explain what a recurrent glimpse agent saw: reconstructions, information per glimpse.

Arrays for your own figures (``N`` episodes, ``T`` glimpses)::

    from agents.explain import belief_trajectory, load_vae, mean_curves, reconstructions

    traj = belief_trajectory(agent, test_env, episodes=1000)
    traj["information_gain"]  # (N, T) nats, H_{t-1} - H_t with H_0 = log n
    mean_curves(traj)["accuracy"]  # (T,)
    vae, _ = load_vae("runs/explain/vae.pt")
    recon = reconstructions(agent, vae, traj["glimpse"], traj["location"])  # (N, T, C, H, W)

Modules: :mod:`~agents.explain.vae` (the VAE on the hidden state), :mod:`~agents.explain.episodes`
(playing any :class:`~agents.explain.episodes.RecurrentAgent` and keeping its hidden states),
:mod:`~agents.explain.information` (entropy, information gain, log p(true), accuracy per glimpse),
:mod:`~agents.explain.footprint` (the pixels seen so far), :mod:`~agents.explain.reconstruction`
(training the VAE, decoding), :mod:`~agents.explain.figures` (grid, GIF frames, plots),
:mod:`~agents.explain.cli` (``glimpse-env explain``) and :mod:`~agents.explain.study` (the
reshaped-reward study).
"""

from agents.explain.episodes import RecurrentAgent, play_split
from agents.explain.footprint import footprint_masks
from agents.explain.information import belief_information, belief_trajectory, mean_curves
from agents.explain.reconstruction import VAETraining, reconstructions, train_vae
from agents.explain.vae import HiddenStateVAE, VAEConfig, load_vae, save_vae

__all__ = [
    "HiddenStateVAE",
    "RecurrentAgent",
    "VAEConfig",
    "VAETraining",
    "belief_information",
    "belief_trajectory",
    "footprint_masks",
    "load_vae",
    "mean_curves",
    "play_split",
    "reconstructions",
    "save_vae",
    "train_vae",
]

"""A CleanRL-style single-file SAC that learns where to look, through the in-the-loop wrapper.

Nothing here knows about glimpses: the loop sees a gymnasium vector env with a Box(2) action
(where to look next) and a flat Box observation (the glimpse, its location and the belief of the
classifier in the loop), and earns the env's reward for that belief (``information_gain``). The
wrapper's classifier learns online from the episodes; SAC learns where to look. Gymnasium 1.x
vector envs reset an env on the step after its episode ended (``next_step``): that step's
transition crosses two episodes and is not stored.

    GLIMPSE_ENV_DATA=../shared/data python examples/cleanrl_style_in_the_loop.py \
        --total-timesteps 50000
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import glimpse_env  # noqa: F401  (registers the ids)
from agents.in_the_loop.vector import InTheLoopVectorEnv
from glimpse_env.commands.cli_args import parse_args


@dataclass
class Args:
    """SAC on where to look, with a classifier in the loop."""

    env_id: str = "GlimpseEnv-v0"
    """The glimpse env id."""
    split: str = "test[:8000]"
    """The training split."""
    num_envs: int = 16
    """Parallel envs (one batch of the core)."""
    total_timesteps: int = 50_000
    """Env steps, summed over the envs."""
    seed: int = 0
    """Seed of everything."""
    buffer_size: int = 100_000
    """Replay buffer transitions."""
    batch_size: int = 128
    """Transitions per gradient step."""
    learning_starts: int = 1_000
    """Env steps of random locations before learning."""
    learning_rate: float = 1e-3
    """Adam's, for the actor, the critics and the temperature."""
    gamma: float = 0.99
    """Discount."""
    tau: float = 0.005
    """Target networks' Polyak rate."""


def mlp(inputs: int, outputs: int, hidden: int = 128) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, outputs),
    )  # fmt: skip


class Actor(nn.Module):
    def __init__(self, obs_size: int, act_size: int) -> None:
        super().__init__()
        self.net = mlp(obs_size, 2 * act_size)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A sampled action in [-1, 1], its log-probability, the mean action."""
        mean, log_std = self.net(obs).chunk(2, dim=-1)
        std = log_std.clamp(-5, 2).exp()
        normal = torch.distributions.Normal(mean, std)
        raw = normal.rsample()
        action = torch.tanh(raw)
        log_prob = (normal.log_prob(raw) - torch.log(1 - action.pow(2) + 1e-6)).sum(-1)
        return action, log_prob, torch.tanh(mean)


def main(args: Args) -> dict[str, float]:
    """Train; returns the last training accuracy and mean return (over the last 500 episodes)."""
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    envs = InTheLoopVectorEnv(
        gym.make_vec(args.env_id, num_envs=args.num_envs, vectorization_mode="vector_entry_point",
                     split=args.split, reward="information_gain"),
        seed=args.seed,
    )  # fmt: skip
    obs_size = int(np.prod(envs.single_observation_space.shape))
    act_size = int(np.prod(envs.single_action_space.shape))
    actor = Actor(obs_size, act_size)
    critics = nn.ModuleList([mlp(obs_size + act_size, 1) for _ in range(2)])
    targets = nn.ModuleList([mlp(obs_size + act_size, 1) for _ in range(2)])
    targets.load_state_dict(critics.state_dict())
    log_alpha = torch.zeros(1, requires_grad=True)
    actor_opt = torch.optim.Adam(actor.parameters(), lr=args.learning_rate)
    critic_opt = torch.optim.Adam(critics.parameters(), lr=args.learning_rate)
    alpha_opt = torch.optim.Adam([log_alpha], lr=args.learning_rate)
    target_entropy = -float(act_size)

    size = args.buffer_size // args.num_envs
    buf_obs = np.zeros((size, args.num_envs, obs_size), np.float32)
    buf_next = np.zeros_like(buf_obs)
    buf_act = np.zeros((size, args.num_envs, act_size), np.float32)
    buf_rew = np.zeros((size, args.num_envs), np.float32)
    buf_done = np.zeros((size, args.num_envs), np.float32)
    buf_valid = np.zeros((size, args.num_envs), bool)
    pos, full = 0, False

    obs, _ = envs.reset(seed=args.seed)
    autoreset = np.zeros(args.num_envs, bool)
    returns, correct, finished = np.zeros(args.num_envs), [], []
    started = time.time()
    for step in range(args.total_timesteps // args.num_envs):
        if step * args.num_envs < args.learning_starts:
            actions = rng.uniform(-1, 1, (args.num_envs, act_size)).astype(np.float32)
        else:
            with torch.no_grad():
                actions = actor(torch.as_tensor(obs))[0].numpy()
        next_obs, rewards, terminations, truncations, infos = envs.step(actions)
        buf_obs[pos], buf_next[pos], buf_act[pos] = obs, next_obs, actions
        buf_rew[pos], buf_done[pos], buf_valid[pos] = rewards, terminations, ~autoreset
        pos, full = (pos + 1) % size, full or pos + 1 == size
        returns += rewards
        ended = terminations | truncations
        if ended.any():
            correct.extend(infos["correct"][ended])
            finished.extend(returns[ended])
            returns[ended] = 0.0
        obs, autoreset = next_obs, ended

        if step * args.num_envs >= args.learning_starts:
            rows, cols = np.nonzero(buf_valid[: size if full else pos])
            pick = rng.integers(0, len(rows), args.batch_size)
            rows, cols = rows[pick], cols[pick]
            o, o2 = torch.as_tensor(buf_obs[rows, cols]), torch.as_tensor(buf_next[rows, cols])
            a, r = torch.as_tensor(buf_act[rows, cols]), torch.as_tensor(buf_rew[rows, cols])
            d = torch.as_tensor(buf_done[rows, cols])
            alpha = log_alpha.exp().detach()
            with torch.no_grad():
                a2, logp2, _ = actor(o2)
                q2 = torch.min(*(t(torch.cat([o2, a2], 1))[:, 0] for t in targets))
                target = r + args.gamma * (1 - d) * (q2 - alpha * logp2)
            critic_loss = sum(F.mse_loss(c(torch.cat([o, a], 1))[:, 0], target) for c in critics)
            critic_opt.zero_grad()
            critic_loss.backward()
            critic_opt.step()
            new_a, logp, _ = actor(o)
            q = torch.min(*(c(torch.cat([o, new_a], 1))[:, 0] for c in critics))
            actor_loss = (alpha * logp - q).mean()
            actor_opt.zero_grad()
            actor_loss.backward()
            actor_opt.step()
            alpha_loss = -(log_alpha * (logp.detach() + target_entropy)).mean()
            alpha_opt.zero_grad()
            alpha_loss.backward()
            alpha_opt.step()
            with torch.no_grad():
                for t, c in zip(targets.parameters(), critics.parameters(), strict=True):
                    t.mul_(1 - args.tau).add_(args.tau * c)

        if step % 500 == 0 and finished:
            print(
                f"step {step * args.num_envs}: accuracy {np.mean(correct[-500:]):.3f} "
                f"return {np.mean(finished[-500:]):.3f} ({time.time() - started:.0f} s)",
                flush=True,
            )
    envs.close()
    return {"accuracy": float(np.mean(correct[-500:])), "return": float(np.mean(finished[-500:]))}


if __name__ == "__main__":
    print(main(parse_args(Args)))

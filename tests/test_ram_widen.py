"""Widening RAM's core (Net2WiderNet) keeps what the model computes, breaks the copies'
symmetry, and its checkpoint is one that ``train ram --init-from`` trains on."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.ram.checkpoint import load_checkpoint, load_model
from agents.ram.model import RAMConfig, RecurrentAttentionModel
from agents.ram.train import Args, train
from agents.ram.widen import main, widen_core


def small_args(out, **changes) -> Args:
    """A tiny 28x28 RAM run on the shared data (seconds on one core)."""
    args = Args(
        env="GlimpseEnv-v0",
        split="test[:96]",
        test_split="test[9950:]",
        epochs=1,
        batch_size=32,
        learning_rate=3e-3,
        hidden_size=16,
        glimpse_hidden=8,
        glimpse_features=16,
        threads=1,
        out=str(out),
        progress=False,
        tensorboard=False,
    )
    return replace(args, **changes)


def rollout(model: RecurrentAttentionModel, glimpses, locations):
    """The model's outputs over a few glimpses (locations given, as the env would)."""
    hidden = model.initial_state(glimpses.shape[1])
    outs = []
    for glimpse, location in zip(glimpses, locations, strict=True):
        out = model.step(glimpse, location, hidden)
        hidden = out.hidden
        outs.append(out)
    return outs


@settings(max_examples=25, deadline=None)
@given(
    core=st.sampled_from(["rnn", "lstm"]),
    old=st.integers(1, 12),
    extra=st.integers(0, 30),
    noise=st.floats(0.0, 0.9),
    seed=st.integers(0, 2**16),
)
def test_the_wider_model_computes_what_the_narrow_one_did(core, old, extra, noise, seed):
    """Logits, location means, baselines and every unit's state (a copy equals its source) agree
    over four glimpses, for both cores and any width, including widths that are not multiples."""
    torch.manual_seed(seed)
    config = RAMConfig(core=core, hidden_size=old, glimpse_hidden=8, glimpse_features=8)
    model = RecurrentAttentionModel(config)
    for p in model.parameters():  # larger weights than the default init, so errors would show
        p.data.mul_(2.0)
    wide = widen_core(model, old + extra, torch.Generator().manual_seed(seed), noise=noise)
    assert wide.config == replace(config, hidden_size=old + extra)
    glimpses, locations = torch.rand(4, 5, 1, 8, 8), torch.rand(4, 5, 2) * 2 - 1
    source = torch.arange(old + extra) % old
    narrow_outs, wide_outs = rollout(model, glimpses, locations), rollout(wide, glimpses, locations)
    for a, b in zip(narrow_outs, wide_outs, strict=True):
        torch.testing.assert_close(b.logits, a.logits, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(b.location_mean, a.location_mean, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(b.baseline, a.baseline, atol=1e-5, rtol=1e-4)
        for narrow_state, wide_state in zip(a.hidden, b.hidden, strict=True):
            torch.testing.assert_close(wide_state, narrow_state[:, source], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("core", ["rnn", "lstm"])
def test_unequal_shares_give_the_copies_different_gradients(core):
    """With equal shares a unit and its copy get the same gradient forever (the widening would
    add nothing); the random shares make them differ from the first step."""
    torch.manual_seed(0)
    model = RecurrentAttentionModel(
        RAMConfig(core=core, hidden_size=6, glimpse_hidden=8, glimpse_features=8)
    )
    glimpses, locations = torch.rand(3, 7, 1, 8, 8), torch.rand(3, 7, 2) * 2 - 1
    labels = torch.randint(0, 10, (7,))
    name = "core.cell.weight_ih" if core == "lstm" else "core.input.weight"
    rows = {}
    for noise in (0.0, 0.5):
        wide = widen_core(model, 12, torch.Generator().manual_seed(3), noise=noise)
        logits = rollout(wide, glimpses, locations)[-1].logits
        torch.nn.functional.cross_entropy(logits, labels).backward()
        grad = dict(wide.named_parameters())[name].grad
        grad = grad.reshape(-1, 12, grad.shape[-1])  # (gates, H', G)
        rows[noise] = (grad[:, :6], grad[:, 6:])
    torch.testing.assert_close(*rows[0.0])
    assert not torch.allclose(*rows[0.5], atol=1e-6)


def test_bad_widths_and_noise_are_errors():
    model = RecurrentAttentionModel(RAMConfig(hidden_size=8))
    with pytest.raises(ValueError, match="at least the model's 8, got 4"):
        widen_core(model, 4)
    with pytest.raises(ValueError, match=r"noise must be in \[0, 1\)"):
        widen_core(model, 16, noise=1.0)


def test_a_widened_checkpoint_trains_on_with_init_from(tmp_path, capsys):
    """The command line: train, widen, train on at the new width from the widened weights."""
    train(small_args(tmp_path / "narrow"))
    narrow = tmp_path / "narrow" / "last.pt"
    widened = tmp_path / "wide-init.pt"
    assert main(["--checkpoint", str(narrow), "--hidden-size", "40", "--out", str(widened)]) == 0
    assert "16 -> 40 units" in capsys.readouterr().out
    saved = load_checkpoint(widened)
    assert saved["env_id"] == "GlimpseEnv-v0" and saved["model_config"]["hidden_size"] == 40
    original = load_model(load_checkpoint(narrow))
    glimpses, locations = torch.rand(3, 4, 1, 8, 8), torch.rand(3, 4, 2) * 2 - 1
    want = rollout(original, glimpses, locations)[-1].logits
    got = rollout(load_model(saved), glimpses, locations)[-1].logits
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
    tuned = small_args(
        tmp_path / "wide",
        hidden_size=40,
        learning_rate=1e-9,
        lr_warmup=0,
        init_from=str(widened),
    )
    train(tuned)
    end = torch.load(tmp_path / "wide" / "last.pt", weights_only=True)["model"]
    assert all(torch.allclose(end[k], v, atol=1e-6) for k, v in saved["model"].items())
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(narrow), "--hidden-size", "8", "--out", str(tmp_path / "x.pt")])
    assert "at least the model's 16, got 8" in capsys.readouterr().err

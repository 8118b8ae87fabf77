"""The checkpoint module every agent saves through (agents/checkpoints.py), error by error."""

from __future__ import annotations

import os
import re

import pytest
import torch
from torch import nn

from agents.checkpoints import (
    CheckpointError,
    CheckpointFormat,
    load_checkpoint,
    rebuild_model,
    save_checkpoint,
)

TOY = CheckpointFormat(
    tag="glimpse-env/toy",
    version=3,
    required=("model_config", "model"),
    kind="a toy",
    build=lambda config: nn.Linear(config["inputs"], 2),
)


def toy_payload() -> dict:
    torch.manual_seed(0)
    return {"model_config": {"inputs": 3}, "model": nn.Linear(3, 2).state_dict(), "epoch": 7}


def test_save_then_load_round_trips_with_the_tag(tmp_path):
    path = tmp_path / "deep" / "folder" / "toy.pt"  # folders are made
    TOY.save(path, toy_payload())
    data = TOY.load(path)
    assert data["format"] == "glimpse-env/toy" and data["version"] == 3 and data["epoch"] == 7
    assert torch.load(path, weights_only=True)["format"] == "glimpse-env/toy"
    model = TOY.load_model(data)
    assert torch.equal(model.weight, toy_payload()["model"]["weight"])
    assert not [p for p in path.parent.iterdir() if p.name != "toy.pt"], "a temp file was left"


def test_saving_replaces_atomically(tmp_path, monkeypatch):
    """The old file stays whole until the new one is complete (written beside, then renamed)."""
    path = tmp_path / "toy.pt"
    TOY.save(path, toy_payload())
    renames = []
    real_replace = os.replace

    def spy(source, target):
        renames.append((os.path.basename(source), os.path.basename(target)))
        assert TOY.load(path)["epoch"] == 7  # the old checkpoint, still readable
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", spy)
    TOY.save(path, {**toy_payload(), "epoch": 8})
    assert renames == [(f".toy.pt.tmp{os.getpid()}", "toy.pt")]
    assert TOY.load(path)["epoch"] == 8


def test_a_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"no checkpoint at {tmp_path / 'x.pt'}")):
        TOY.load(tmp_path / "x.pt")


def test_a_corrupt_file_is_named_with_the_first_line_of_the_error(tmp_path):
    path = tmp_path / "toy.pt"
    TOY.save(path, toy_payload())
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError) as err:
        TOY.load(path)
    message = str(err.value)
    assert message.startswith(
        f"cannot read checkpoint {path}: the file is corrupt, truncated or not a torch checkpoint ("
    )
    assert "\n" not in message and message.endswith(")")
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="corrupt, truncated"):
        TOY.load(empty)


def test_another_format_or_object(tmp_path):
    path = tmp_path / "other.pt"
    save_checkpoint(path, toy_payload(), "glimpse-env/other", 3)
    with pytest.raises(CheckpointError) as err:
        TOY.load(path)
    expected = (
        f"{path} is not a toy checkpoint (expected format 'glimpse-env/toy', "
        "got 'glimpse-env/other')"
    )
    assert str(err.value) == expected
    torch.save(torch.zeros(2), path)
    with pytest.raises(
        CheckpointError, match=r"\(expected format 'glimpse-env/toy', got 'Tensor'\)"
    ):
        TOY.load(path)
    torch.save({"model": {}}, path)  # a dict without a tag
    with pytest.raises(CheckpointError, match="got None"):
        TOY.load(path)
    with pytest.raises(CheckpointError, match="is not a glimpse-env checkpoint"):
        load_checkpoint(path, "glimpse-env/toy", 3, ())  # the default kind


def test_another_version(tmp_path):
    path = tmp_path / "toy.pt"
    save_checkpoint(path, toy_payload(), TOY.tag, 2)
    with pytest.raises(CheckpointError) as err:
        TOY.load(path)
    assert str(err.value) == f"{path} has checkpoint version 2; this code reads 3"


def test_missing_entries_are_listed(tmp_path):
    path = tmp_path / "toy.pt"
    save_checkpoint(path, {"epoch": 1}, TOY.tag, TOY.version)
    with pytest.raises(CheckpointError) as err:
        TOY.load(path)
    assert str(err.value) == f"{path} lacks the entries ['model_config', 'model']"


def test_tensors_load_on_the_device_asked_for(tmp_path):
    path = tmp_path / "toy.pt"
    TOY.save(path, toy_payload())
    assert TOY.load(path, device="meta")["model"]["weight"].device.type == "meta"
    assert TOY.load_model(TOY.load(path), device="meta").weight.device.type == "meta"


@pytest.mark.parametrize(
    "data",
    [
        {"model_config": {"inputs": 4}, "model": nn.Linear(3, 2).state_dict()},  # wrong shapes
        {"model_config": {"width": 3}, "model": {}},  # a config the builder cannot read
        {"model": {}},  # no config
    ],
)
def test_weights_that_do_not_fit_their_config(data):
    with pytest.raises(CheckpointError) as err:
        rebuild_model(data, TOY.build, source="toy.pt")
    assert str(err.value).startswith("toy.pt: the model weights do not match its config: ")
    with pytest.raises(CheckpointError, match=r"^checkpoint: the model weights"):
        rebuild_model(data, TOY.build)  # the default source


def test_the_defaults_load_on_the_cpu_and_name_the_checkpoint(tmp_path):
    path = tmp_path / "toy.pt"
    TOY.save(path, toy_payload())
    data = load_checkpoint(path, TOY.tag, TOY.version, TOY.required)  # device and kind: defaults
    assert data["model"]["weight"].device == torch.device("cpu")
    assert rebuild_model(data, TOY.build).weight.device == torch.device("cpu")
    bad = {"model_config": {"inputs": 4}, "model": data["model"]}
    with pytest.raises(CheckpointError, match=r"^checkpoint: the model weights do not match"):
        TOY.load_model(bad)  # the default source
    with pytest.raises(CheckpointError, match=r"^toy.pt: the model weights do not match"):
        TOY.load_model(bad, source="toy.pt")


def test_an_unreadable_file_is_reported_with_torchs_own_error(tmp_path):
    path = tmp_path / "toy.pt"
    path.write_bytes(b"not a checkpoint\nsecond line")
    with pytest.raises(Exception) as raw:  # what torch says of the file
        torch.load(path, weights_only=True)
    with pytest.raises(CheckpointError) as err:
        TOY.load(path)
    first_line = str(raw.value).splitlines()[0]
    assert str(err.value) == (
        f"cannot read checkpoint {path}: the file is corrupt, truncated or not a torch "
        f"checkpoint ({type(raw.value).__name__}: {first_line})"
    )


def test_an_error_without_a_message_is_reported_by_its_type(tmp_path, monkeypatch):
    path = tmp_path / "toy.pt"
    TOY.save(path, toy_payload())

    def fails(*args, **kwargs):
        raise RuntimeError

    monkeypatch.setattr(torch, "load", fails)
    with pytest.raises(CheckpointError) as err:
        TOY.load(path)
    assert str(err.value).endswith("not a torch checkpoint (RuntimeError: )")

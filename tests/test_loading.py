"""Loading refuses what it cannot trust or understand, with messages naming file and keys."""

from __future__ import annotations

import pickle

import pytest
import torch

from feat_space.errors import CheckpointError, FeatError
from feat_space.models import Generator, load_arcface, load_encoder, load_generator


class _RunsCode:
    """Unpickling this object calls a function: exactly what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture(scope="module")
def small_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return Generator(64, channel_multiplier=1).state_dict()


def save(path, obj):
    torch.save(obj, path)
    return path


@pytest.mark.parametrize("loader", [load_generator, load_encoder, load_arcface])
def test_malicious_pickle_is_never_run(tmp_path, loader):
    marker = tmp_path / "pwned"
    path = save(tmp_path / "evil.pt", {"g_ema": {"x": _RunsCode(marker)}, "state_dict": _RunsCode(marker)})
    # The file really is malicious: an unrestricted load runs its code.
    torch.load(path, weights_only=False)
    assert marker.exists()
    marker.unlink()
    with pytest.raises(CheckpointError, match="Refusing to load") as info:
        loader(path)
    assert not marker.exists()
    assert str(path) in str(info.value)


def test_missing_unexpected_and_misshaped_keys_are_named(tmp_path, small_state):
    state = dict(small_state)
    del state["convs.3.conv.weight"]
    state["convs.3.extra"] = torch.zeros(1)
    state["to_rgb1.bias"] = torch.zeros(1, 4, 1, 1)
    path = save(tmp_path / "broken.pt", {"g_ema": state})
    with pytest.raises(CheckpointError) as info:
        load_generator(path)
    message = str(info.value)
    assert str(path) in message
    assert "missing keys convs.3.conv.weight" in message
    assert "unexpected keys convs.3.extra" in message
    assert "to_rgb1.bias (1, 4, 1, 1) (expected (1, 3, 1, 1))" in message


def test_long_key_lists_are_shortened(tmp_path, small_state):
    state = {k: v for k, v in small_state.items() if not k.startswith("convs.")}
    with pytest.raises(CheckpointError, match=r"missing keys .* and \d+ more"):
        load_generator(save(tmp_path / "g.pt", {"g_ema": state}))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "Cannot read checkpoint"),
        (b"definitely not a checkpoint", "Cannot read checkpoint"),
    ],
)
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_generator(path)


def test_truncated_file(tmp_path, small_state):
    path = save(tmp_path / "g.pt", {"g_ema": small_state})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_generator(path)


def test_wrong_kinds_of_file(tmp_path, small_state):
    with pytest.raises(CheckpointError, match="not found"):
        load_generator(tmp_path / "nowhere.pt")
    with pytest.raises(CheckpointError, match="neither 'g_ema'"):
        load_generator(save(tmp_path / "other.pt", {"model": small_state}))
    with pytest.raises(CheckpointError, match="expected a dict"):
        load_generator(save(tmp_path / "list.pt", [1, 2, 3]))


def test_errors_are_feat_errors_for_the_ui(tmp_path):
    assert issubclass(CheckpointError, FeatError)
    with pytest.raises(FeatError):
        load_arcface(tmp_path / "missing.pth")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_plain_pickle_protocol_is_rejected_too(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "raw.pkl"
    path.write_bytes(pickle.dumps({"g_ema": _RunsCode(marker)}))
    with pytest.raises(CheckpointError):
        load_generator(path)
    assert not marker.exists()

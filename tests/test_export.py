"""Packed export: binary weights stored as bits (the size summarize() reports), the rest as floats,
loaded back with outputs identical to the original model in eval mode."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest

import bnnrepro.kernels as K
from bnnrepro.errors import DataError
from bnnrepro.io import torch_save
from bnnrepro.nn import ModelSpec, build_model, load_packed, packed_state, save_packed, summarize
from bnnrepro.nn.summary import packed_weight_bytes

CASES = [
    (ModelSpec(arch="mlp", hidden=(100, 37)), (1, 6, 6)),
    (ModelSpec(arch="mlp", hidden=(40,), mode="binaryconnect", dropout=(0.3,)), (1, 5, 5)),
    (ModelSpec(arch="mlp", hidden=(40,), binarization="stoch"), (1, 5, 5)),  # real weights at eval
    (ModelSpec(arch="mlp", hidden=(40,), binarization="stoch", stochastic_eval="sign"), (1, 5, 5)),
    (ModelSpec(arch="svhn_cnn", width=0.08), (3, 8, 8)),
]


def trained(spec, shape, seed=0):
    torch.manual_seed(seed)
    model = build_model(spec, shape, 10)
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(8, *shape))
            for p in model.parameters():  # move weights off their initialisation
                p.add_(0.1 * torch.randn_like(p))
    return model.eval()


# Per stored tensor, torch's zip container adds a record header, alignment and a pickle entry.
OVERHEAD_PER_TENSOR = 1024
OVERHEAD_FIXED = 4096


@pytest.mark.parametrize(("spec", "shape"), CASES)
def test_round_trip_and_size(spec, shape, tmp_path):
    model = trained(spec, shape)
    path = tmp_path / "nested" / "model.pt"
    payload = save_packed(model, path, spec=spec, input_shape=shape, num_classes=10, metadata={"seed": 0})
    assert payload == summarize(model).packed_bytes
    packed, tensors = packed_state(model)
    assert 0 <= path.stat().st_size - payload <= OVERHEAD_FIXED + OVERHEAD_PER_TENSOR * (len(packed) + len(tensors))
    for entry in packed.values():
        out_units, k = entry["shape"][0], int(torch.tensor(entry["shape"][1:]).prod())
        assert entry["bits"].numel() * 4 == packed_weight_bytes(out_units, k)

    loaded = load_packed(path)
    assert loaded.spec == spec and loaded.input_shape == shape and loaded.num_classes == 10
    assert loaded.metadata == {"seed": 0} and not loaded.model.training
    x = torch.randn(5, *shape)
    with torch.no_grad():
        expected = model(x)
        assert torch.equal(loaded.model(x), expected)
        with K.use_backend("torch"):
            assert torch.equal(loaded.model(x), expected)


def test_binary_layers_are_packed():
    spec, shape = ModelSpec(arch="mlp", hidden=(64, 32)), (1, 8, 8)  # every K a multiple of 32
    model = trained(spec, shape)
    packed, tensors = packed_state(model)
    binary = {n for n, p in model.named_parameters() if n.endswith("weight") and p.dim() >= 2}
    assert set(packed) == binary  # all three dense layers, the first included
    assert not any(name.endswith("num_batches_tracked") for name in tensors)
    fp32 = sum(4 * model.state_dict()[n].numel() for n in packed)
    assert sum(e["bits"].numel() * 4 for e in packed.values()) * 32 == fp32


def test_errors(tmp_path):
    spec, shape = CASES[0]
    model = trained(spec, shape)
    with pytest.raises(ValueError, match="does not match build_model"):
        save_packed(
            model, tmp_path / "m.pt", spec=ModelSpec(arch="mlp", hidden=(99, 37)), input_shape=shape, num_classes=10
        )
    assert not (tmp_path / "m.pt").exists()
    torch_save({"something": 1}, tmp_path / "other.pt")  # sealed, but not a packed model
    with pytest.raises(ValueError, match="not a packed bnnrepro model"):
        load_packed(tmp_path / "other.pt")
    torch.save({"something": 1}, tmp_path / "unsealed.pt")  # not written by bnnrepro: not read at all
    with pytest.raises(DataError, match="has no seal"):
        load_packed(tmp_path / "unsealed.pt")

"""The paper preset's path on this machine, at toy scale: its CNNs (memorization, easy examples,
BinaryConnect on CIFAR-10 and SVHN) train for one epoch on small files in the exact original
formats (cifar-10-python.tar.gz with pickled batches, SVHN's *_32x32.mat), with every setting of the
preset's runs except the sizes, the device and the epochs. ``bnnrepro plan`` pricing the preset is
tests/test_plan.py::test_plan_of_the_default_config_and_the_paper_preset."""

from __future__ import annotations

import math

import pytest

from bnnrepro.data.registry import CIFAR10, SVHN
from bnnrepro.families.registry import FAMILIES
from bnnrepro.workflow.plan import load_config
from conftest import ROOT, spec_for_files, write_cifar10_archive, write_svhn_mat

PAPER = ROOT / "workflow" / "configs" / "paper.yaml"
#: CIFAR-10: 5 x 12 training images and 12 test images; SVHN: 60 and 20.
CIFAR_PER_BATCH, SVHN_TRAIN, SVHN_TEST = 12, 60, 20
TOY_VALID = 10


def _toy_settings(settings: dict, data_dir) -> dict:
    """The run's own settings on the toy files: one epoch on the CPU, validation and probe sets cut to fit."""
    toy = dict(settings) | {"epochs": 1, "device": "cpu", "threads": 1, "data_dir": str(data_dir)}
    if toy.get("valid_size"):
        toy["valid_size"] = TOY_VALID
    if toy.get("probe_size"):
        toy["probe_size"] = 20
    toy["save_model"] = False
    return toy


@pytest.fixture
def toy_originals(tmp_path, isolated_cache, monkeypatch):
    """CIFAR-10 and SVHN files in their original formats under tmp_path/data, and a registry that
    verifies them (their own checksums instead of the published ones)."""
    import bnnrepro.data as data

    root = tmp_path / "data"
    (root / "cifar10").mkdir(parents=True)
    (root / "svhn").mkdir()
    write_cifar10_archive(root / "cifar10" / "cifar-10-python.tar.gz", per_batch=CIFAR_PER_BATCH)
    write_svhn_mat(root / "svhn" / "train_32x32.mat", n=SVHN_TRAIN)
    write_svhn_mat(root / "svhn" / "test_32x32.mat", n=SVHN_TEST, seed=1)
    specs = {"cifar10": spec_for_files(CIFAR10, root / "cifar10"), "svhn": spec_for_files(SVHN, root / "svhn")}
    real = data.get_spec
    monkeypatch.setattr(data, "get_spec", lambda name: specs.get(name) or real(name))
    return root


#: (family, dataset, tags) of the runs trained: each code path of the preset once (deterministic and
#: stochastic CNNs, dropout, SVHN's sampled evaluation, the easy examples' probe, BinaryConnect's
#: binary weights with real activations); the other runs differ from these only in settings values.
TRAINED = {
    ("memorization", "cifar10", ("binarization=det", "labels=randY", "regularization=none")),
    ("memorization", "cifar10", ("binarization=stoch", "labels=randY", "regularization=none")),
    ("memorization", "svhn", ("binarization=det", "labels=randY", "regularization=dropout")),
    ("memorization", "svhn", ("binarization=stoch", "labels=randY", "regularization=none")),
    ("easy_examples", "cifar10", ("binarization=det", "labels=true")),
    ("binaryconnect", "cifar10", ("variant=bc_stoch",)),
}


def _paper_runs():
    """The runs of :data:`TRAINED`, from the paper preset."""
    config = load_config(ROOT, [str(PAPER)], [])
    picked = {}
    for name in ("memorization", "easy_examples", "binaryconnect"):
        for run in FAMILIES[name].runs(config):
            key = (name, run.dataset, tuple(run.settings.get("tags", ())))
            if key in TRAINED and key not in picked:
                picked[key] = run
    assert set(picked) == TRAINED, f"the paper preset has no run {sorted(TRAINED - set(picked))}"
    return list(picked.values())


PAPER_RUNS = _paper_runs()


def test_the_paper_preset_runs_cnns_on_both_original_formats():
    archs = {(run.dataset, run.settings.get("arch")) for run in PAPER_RUNS}
    assert {("cifar10", "cifar10_cnn"), ("svhn", "svhn_cnn")} <= archs
    assert {run.family for run in PAPER_RUNS} == {"memorization", "easy_examples", "binaryconnect"}
    sampled = {run.dataset for run in PAPER_RUNS if run.settings.get("stochastic_eval") == "sample"}
    assert "svhn" in sampled  # the SVHN stochastic script's evaluation (sampled weights, batch statistics)


@pytest.mark.slow
@pytest.mark.parametrize("run", PAPER_RUNS, ids=lambda run: f"{run.family}-{run.key}")
def test_paper_preset_run_trains_one_epoch_on_toy_original_files(run, toy_originals, tmp_path):
    from bnnrepro.train.config import TrainConfig
    from bnnrepro.train.loop import train

    settings = _toy_settings(run.settings, toy_originals)
    result = train(TrainConfig.from_dict(settings), tmp_path / "run", progress=False, log=lambda msg: None)
    metrics = result.metrics
    assert sorted(metrics["epoch"].unique()) == [1]
    train_rows = metrics[metrics["split"] == "train"]
    expected = CIFAR_PER_BATCH * 5 - (TOY_VALID if run.settings.get("valid_size") else 0)
    if run.dataset == "svhn":
        expected = SVHN_TRAIN - (TOY_VALID if run.settings.get("valid_size") else 0)
    assert result.summary["train_examples"] == expected
    assert len(train_rows) and all(0.0 <= e <= 1.0 and not math.isnan(e) for e in train_rows["error"])

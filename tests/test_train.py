"""The training loop: metrics, determinism, kill-and-resume, the BinaryNet recipe, the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from bnnrepro.train import TrainConfig, load_model, train
from bnnrepro.train.loop import CHECKPOINT
from conftest import ROOT, run_cli

# checkpoint_every 0: a checkpoint after every epoch, so that the resume tests resume mid-run
TINY: dict[str, Any] = dict(
    arch="mlp",
    hidden=[32],
    train_size=600,
    test_size=300,
    batch_size=50,
    threads=1,
    lr_start=3e-3,
    lr_end=3e-4,
    checkpoint_every=0.0,
)
TINY_ARGS = [
    "--hidden",
    "32",
    "--train-size",
    "600",
    "--test-size",
    "300",
    "--batch-size",
    "50",
    "--threads",
    "1",
    "--lr-start",
    "3e-3",
    "--lr-end",
    "3e-4",
    "--checkpoint-every",
    "0",
]


def quiet(msg: str) -> None:
    pass


def test_cli_train_writes_classwise_metrics(tmp_path, fashion_mnist):
    out = tmp_path / "run"
    proc = run_cli("train", "--out", str(out), "--epochs", "2", "--valid-size", "200", "--probe-size", "50", *TINY_ARGS)
    assert proc.returncode == 0, proc.stderr
    assert "epoch 2/2" in proc.stderr  # plain log lines when not on a terminal
    metrics = pd.read_csv(out / "metrics.csv", dtype={"class": str})
    assert list(metrics.columns[:8]) == ["run", "epoch", "split", "class", "error", "loss", "lr", "n"]
    assert set(metrics["split"]) == {"train", "valid", "test"}
    assert set(metrics["class"]) == {"all"} | {str(c) for c in range(10)}
    assert metrics["epoch"].tolist()[0] == 1 and metrics["epoch"].max() == 2
    assert metrics["error"].between(0, 1).all()
    assert metrics["loss"].dtype == float and (metrics["loss"] >= 0).all()
    assert set(metrics["loss_function"]) == {"squared_hinge"}
    overall = metrics[(metrics["class"] == "all") & (metrics["split"] == "test") & (metrics["epoch"] == 2)]
    assert overall["n"].item() == 300 and overall["error"].item() < 0.5  # learns something
    # class-wise errors average (weighted by counts) to the overall error
    cls = metrics[(metrics["class"] != "all") & (metrics["split"] == "train") & (metrics["epoch"] == 2)]
    overall_train = metrics[(metrics["class"] == "all") & (metrics["split"] == "train") & (metrics["epoch"] == 2)]
    assert np.isclose((cls["error"] * cls["n"]).sum() / cls["n"].sum(), overall_train["error"].item())
    timing = pd.read_csv(out / "timing.csv")
    assert {"train_seconds", "eval_seconds", "rss_mb", "peak_rss_mb"} <= set(timing.columns)
    assert (timing["peak_rss_mb"] > 50).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["hidden"] == [32] and summary["train_examples"] == 600
    probe = pd.read_csv(out / "probe.csv")
    assert len(probe) == 50 and set(probe["correct"]) <= {0, 1}
    assert not (out / CHECKPOINT).exists()
    model = load_model(out / "model.pt")
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_same_seed_gives_byte_identical_metrics(tmp_path, fashion_mnist):
    cfg = TrainConfig(**TINY, epochs=2, labels="randY", dropout=[0.3], seed=5)
    a = train(cfg, tmp_path / "a", run_name="r", log=quiet)
    b = train(cfg, tmp_path / "b", run_name="r", log=quiet)
    assert (tmp_path / "a" / "metrics.csv").read_bytes() == (tmp_path / "b" / "metrics.csv").read_bytes()
    other = TrainConfig(**TINY, epochs=2, labels="randY", dropout=[0.3], seed=6)
    c = train(other, tmp_path / "c", run_name="r", log=quiet)
    assert not a.metrics["error"].equals(c.metrics["error"])
    assert b.resumed_from == 0


def test_stochastic_run_is_repeatable(tmp_path, fashion_mnist):
    cfg = TrainConfig(**TINY, epochs=1, binarization="stoch", seed=2)
    train(cfg, tmp_path / "a", run_name="r", log=quiet)
    train(cfg, tmp_path / "b", run_name="r", log=quiet)
    assert (tmp_path / "a" / "metrics.csv").read_bytes() == (tmp_path / "b" / "metrics.csv").read_bytes()


def test_interrupted_run_resumes_to_the_same_result(tmp_path, fashion_mnist):
    cfg = TrainConfig(**TINY, epochs=3, binarization="stoch", dropout=[0.2], seed=1)
    train(cfg, tmp_path / "full", run_name="r", log=quiet)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cut", run_name="r", log=quiet, stop_after_epoch=1)
    assert (tmp_path / "cut" / CHECKPOINT).is_file() and not (tmp_path / "cut" / "metrics.csv").exists()
    resumed = train(cfg, tmp_path / "cut", run_name="r", log=quiet)
    assert resumed.resumed_from == 1
    assert (tmp_path / "full" / "metrics.csv").read_bytes() == (tmp_path / "cut" / "metrics.csv").read_bytes()
    again = train(cfg, tmp_path / "cut", run_name="r", log=quiet)  # complete: nothing to do
    assert again.resumed_from == 3


def test_kill_9_then_resume_equals_uninterrupted(tmp_path, fashion_mnist):
    """A real SIGKILL in the middle of training; the restarted command resumes and matches."""
    args = ["train", "--epochs", "5", "--name", "r", *TINY_ARGS, "--train-size", "2000"]
    reference = run_cli(*args, "--out", str(tmp_path / "ref"))
    assert reference.returncode == 0, reference.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bnnrepro", *args, "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        progress = out / "progress.csv"
        if progress.is_file() and pd.read_csv(progress)["epoch"].max() >= 2:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "metrics.csv").exists()
    resumed = run_cli(*args, "--out", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stderr
    assert (out / "metrics.csv").read_bytes() == (tmp_path / "ref" / "metrics.csv").read_bytes()


def test_checkpoint_of_other_settings_is_not_resumed(tmp_path, fashion_mnist):
    cfg = TrainConfig(**TINY, epochs=2)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "r", log=quiet, stop_after_epoch=1)
    changed = TrainConfig(**TINY, epochs=2, seed=9)
    messages: list[str] = []
    result = train(changed, tmp_path / "r", log=messages.append)
    assert result.resumed_from == 0 and any("different settings" in m for m in messages)


def test_recipe_clipping_lr_schedule_and_l2(tmp_path, fashion_mnist):
    base = dict(TINY, epochs=2, lr_start=0.05, lr_end=0.005)
    plain = train(TrainConfig(**base), tmp_path / "plain", log=quiet)
    lrs = plain.metrics.groupby("epoch")["lr"].first().tolist()
    assert lrs == pytest.approx([0.05, 0.05 * 0.1**0.5])
    weights = [
        v
        for k, v in torch.load(tmp_path / "plain" / "model.pt")["state_dict"].items()
        if k.endswith("weight") and v.dim() == 2
    ]
    assert all(w.abs().max() <= 1.0 for w in weights)  # clipped latent weights
    # L2 reaches the latent weights (the original's penalty did not): they shrink.
    decayed = train(TrainConfig(**base, l2=0.05), tmp_path / "l2", log=quiet)
    w_plain = torch.load(tmp_path / "plain" / "model.pt")["state_dict"]["1.weight"].abs().mean()
    w_l2 = torch.load(tmp_path / "l2" / "model.pt")["state_dict"]["1.weight"].abs().mean()
    assert w_l2 < 0.8 * w_plain
    assert decayed.summary["config"]["l2"] == 0.05


def test_float_and_binaryconnect_modes_train(tmp_path, fashion_mnist):
    for mode in ("float", "binaryconnect"):
        result = train(TrainConfig(**TINY, epochs=1, mode=mode, loss="cross_entropy"), tmp_path / mode, log=quiet)
        assert result.summary["final_error"]["test"] < 0.5


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--epochs", "0"], "epochs=0 must be >= 1"),
        (["--epochs", "two"], "'two' is not an int"),
        (["--labels", "random"], "invalid choice"),
        (["--dropout", "1.5"], "dropout rates must be in [0, 1)"),
        (["--task", "pair-3-3"], "pair-A-B"),
        (["--arch", "cifar10_cnn", "--hidden", "10"], "hidden applies to arch 'mlp' only"),
        (["--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_cli_arguments_exit_2_without_traceback(tmp_path, args, needle):
    proc = run_cli("train", "--out", str(tmp_path / "x"), *args)
    assert proc.returncode == 2
    assert needle in proc.stderr and "Traceback" not in proc.stderr


def test_bad_yaml_config_names_the_key(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text("epochs: 3\nlearning_rate: 0.1\n")
    proc = run_cli("train", "--config", str(config), "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "learning_rate" in proc.stderr and "Traceback" not in proc.stderr
    config.write_text("epochs: [3]\n")
    proc = run_cli("train", "--config", str(config), "--out", str(tmp_path / "x"))
    assert proc.returncode == 2 and "epochs" in proc.stderr and "wrong type" in proc.stderr


def test_yaml_config_with_cli_override(tmp_path, fashion_mnist):
    config = tmp_path / "run.yaml"
    config.write_text("hidden: [16]\ntrain_size: 300\ntest_size: 100\nepochs: 3\nthreads: 1\n")
    proc = run_cli("train", "--config", str(config), "--epochs", "1", "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["config"]["epochs"] == 1 and summary["config"]["hidden"] == [16]


def test_too_large_subset_is_a_config_error(tmp_path, fashion_mnist):
    proc = run_cli("train", "--out", str(tmp_path / "x"), "--train-size", "70000", "--epochs", "1")
    assert proc.returncode == 2 and "train_size=70000" in proc.stderr


def test_corrupt_data_file_gives_a_clear_error(tmp_path):
    folder = tmp_path / "data" / "fashion_mnist"
    folder.mkdir(parents=True)
    bad = folder / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(b"not a gzip file at all")
    proc = run_cli(
        "train", "--out", str(tmp_path / "x"), "--epochs", "1", env={"BNNREPRO_DATA": str(tmp_path / "data")}
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr and "25c81989df183df01b3e8a0aad5dffbe" in proc.stderr
    assert "bnnrepro data fetch fashion_mnist" in proc.stderr


def test_help_explains_the_command():
    proc = run_cli("train", "--help")
    assert proc.returncode == 0
    for text in ("--labels", "randY", "--lr-start", "metrics.csv", "examples:"):
        assert text in proc.stdout


def test_adam_matches_torch_optim_adam():
    from bnnrepro.train.optim import Adam

    torch.manual_seed(0)
    ours = [torch.randn(5, 3, requires_grad=True), torch.randn(4, requires_grad=True)]
    ref = [p.detach().clone().requires_grad_(True) for p in ours]
    opt = Adam([{"params": [ours[0]], "lr": 0.01}, {"params": [ours[1]], "lr": 0.1}])
    ref_opt = torch.optim.Adam([{"params": [ref[0]], "lr": 0.01}, {"params": [ref[1]], "lr": 0.1}])
    for step in range(20):
        for params, optimizer in ((ours, opt), (ref, ref_opt)):
            optimizer.zero_grad()
            loss = (params[0].sin().sum() + (params[1] ** 3).sum()) * (step + 1)
            loss.backward()
            optimizer.step()
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    state = opt.state_dict()
    clone = Adam([{"params": [ours[0].detach().clone()], "lr": 0.0}, {"params": [ours[1].detach().clone()], "lr": 0.0}])
    clone.load_state_dict(state)
    assert clone.param_groups[1]["lr"] == 0.1 and int(clone.state[0]["step"]) == 20


def test_sgd_matches_torch_optim_sgd_bit_for_bit():
    from bnnrepro.train.optim import SGD

    torch.manual_seed(0)
    ours = [torch.randn(5, 3, requires_grad=True), torch.randn(4, requires_grad=True)]
    ref = [p.detach().clone().requires_grad_(True) for p in ours]
    opt = SGD([{"params": [ours[0]], "lr": 0.2}, {"params": [ours[1]], "lr": 0.05}])
    ref_opt = torch.optim.SGD([{"params": [ref[0]], "lr": 0.2}, {"params": [ref[1]], "lr": 0.05}], momentum=0.0)
    for step in range(20):
        for params, optimizer in ((ours, opt), (ref, ref_opt)):
            optimizer.zero_grad()
            ((params[0].sin().sum() + (params[1] ** 3).sum()) * (step + 1)).backward()
            optimizer.step()
    for a, b in zip(ours, ref):
        assert torch.equal(a, b)
    assert opt.state_dict()["state"] == {} and opt.state_dict()["optimizer"] == "sgd"


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_optimizer_step_clips_latent_weights_exactly_as_a_separate_clamp(kind):
    """Clipping inside the step gives the same bits as a clamp after an unclipped step, on the
    binary layers' weights only; the learning rates carry the Glorot scale (or not)."""
    from bnnrepro.nn import ModelSpec, binary_layers, build_model
    from bnnrepro.train.optim import make_optimizer

    torch.manual_seed(0)
    model = build_model(ModelSpec(arch="mlp", hidden=(16,)), (1, 28, 28), 10)
    twin = build_model(ModelSpec(arch="mlp", hidden=(16,)), (1, 28, 28), 10)
    twin.load_state_dict(model.state_dict())
    clipped = make_optimizer(model, 0.5, optimizer=kind)  # a large LR pushes weights past +-1
    unclipped = make_optimizer(twin, 0.5, optimizer=kind, clip_weights=False)
    assert clipped.param_groups[0]["clip"] == (-1.0, 1.0) and unclipped.param_groups[0]["clip"] is None
    x = torch.randn(32, 1, 28, 28)
    beyond = 0
    for _ in range(3):
        for net, optimizer in ((model, clipped), (twin, unclipped)):
            optimizer.zero_grad()
            net(x).square().sum().backward()
            optimizer.step()
        with torch.no_grad():
            for layer in binary_layers(twin):
                beyond += int((layer.weight.abs() > 1.0).sum())
                layer.weight.clamp_(-1.0, 1.0)
        for a, b in zip(model.parameters(), twin.parameters()):
            assert torch.equal(a, b)
    assert beyond > 0  # the clip was active
    groups = clipped.param_groups
    assert [g["lr"] for g in groups[:2]] == pytest.approx(
        [0.5 * layer.glorot_lr_scale for layer in binary_layers(model)]
    )
    assert groups[2]["lr"] == 0.5 and groups[2].get("clip") is None
    plain = make_optimizer(model, 0.2, glorot_lr_scale=False, optimizer=kind)
    assert [g["lr"] for g in plain.param_groups] == [0.2, 0.2, 0.2]


def test_optimizer_choice_errors_and_state_of_the_other_kind():
    from bnnrepro.errors import ConfigError
    from bnnrepro.nn import ModelSpec, build_model
    from bnnrepro.train.optim import make_optimizer

    model = build_model(ModelSpec(arch="mlp", hidden=(8,)), (1, 28, 28), 10)
    with pytest.raises(ConfigError, match=r"optimizer='rmsprop'.*adam, sgd"):
        make_optimizer(model, 0.1, optimizer="rmsprop")
    adam_state = make_optimizer(model, 0.1).state_dict()
    with pytest.raises(ValueError, match="adam's, not sgd's"):
        make_optimizer(model, 0.1, optimizer="sgd").load_state_dict(adam_state)
    legacy = {k: v for k, v in adam_state.items() if k != "optimizer"}  # checkpoints from before SGD
    make_optimizer(model, 0.1).load_state_dict(legacy)


def test_sgd_and_real_weight_runs_train(tmp_path, fashion_mnist):
    """The Fashion-MNIST report's optimiser (plain SGD, LR 0.2, no Glorot scale) learns (fast on
    the float net: binary weights flip slowly at that LR); the 'real' control keeps clipped latent
    weights and counts no binary parameters."""
    sgd = train(
        TrainConfig(
            **dict(TINY, lr_start=0.2, lr_end=0.2), epochs=2, optimizer="sgd", mode="float", glorot_lr_scale=False
        ),
        tmp_path / "sgd",
        log=quiet,
    )
    assert sgd.summary["final_error"]["test"] < 0.5 and sgd.summary["config"]["optimizer"] == "sgd"
    real = train(
        TrainConfig(**TINY, epochs=1, mode="binaryconnect", binarization="real", loss="cross_entropy"),
        tmp_path / "real",
        log=quiet,
    )
    assert real.summary["final_error"]["test"] < 0.5 and real.summary["binary_params"] == 0
    weights = [
        v
        for k, v in torch.load(tmp_path / "real" / "model.pt")["state_dict"].items()
        if k.endswith("weight") and v.dim() == 2
    ]
    assert len(weights) == 2 and all(w.abs().max() <= 1.0 for w in weights)


def test_sgd_run_resumes_to_the_same_result(tmp_path, fashion_mnist):
    cfg = TrainConfig(**dict(TINY, lr_start=0.2, lr_end=0.05), epochs=3, optimizer="sgd", binarization="stoch", seed=4)
    train(cfg, tmp_path / "full", run_name="r", log=quiet)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "cut", run_name="r", log=quiet, stop_after_epoch=2)
    assert train(cfg, tmp_path / "cut", run_name="r", log=quiet).resumed_from == 2
    assert (tmp_path / "full" / "metrics.csv").read_bytes() == (tmp_path / "cut" / "metrics.csv").read_bytes()


def test_training_speed_benchmark_writes_interleaved_rounds(tmp_path, fashion_mnist, capsys):
    import argparse

    from bnnrepro.train.bench import add_train_benchmark_arguments, run_train_benchmark

    parser = argparse.ArgumentParser()
    add_train_benchmark_arguments(parser)
    out = tmp_path / "speed.csv"
    args = parser.parse_args(
        [
            "--out",
            str(out),
            "--train-size",
            "300",
            "--hidden",
            "16",
            "--batch-sizes",
            "100",
            "--epochs",
            "2",
            "--variants",
            "float",
            "det",
            "stoch",
        ]
    )
    assert run_train_benchmark(args) == 0
    frame = pd.read_csv(out)
    assert sorted(frame["variant"].unique()) == ["det", "float", "stoch"] and len(frame) == 6
    assert (frame["seconds"] > 0).all() and (frame["cpu_seconds"] >= 0).all()
    assert frame.groupby("variant")["round"].apply(list).tolist() == [[1, 2]] * 3
    printed = capsys.readouterr().out
    assert "batch 100, seconds    : det BNN / float = " in printed and "cpu_seconds: det BNN / float" in printed


def test_missing_input_file_is_one_line_not_a_traceback(tmp_path):
    proc = run_cli(
        "memorization", "tables", "--section", "{}", "--results", str(tmp_path), str(tmp_path / "absent.json")
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "absent.json" in proc.stderr and "Traceback" not in proc.stderr


def test_a_finished_run_of_another_code_version_is_trained_again(tmp_path, fashion_mnist):
    """When Snakemake reruns a training job because its code changed, the job passes the new code
    version and the runs are trained again instead of being taken as finished."""
    cfg = TrainConfig(**TINY, epochs=1)
    lines: list[str] = []
    first = train(cfg, tmp_path / "run", code_version="aaaa", log=lines.append)
    assert not any("already complete" in line for line in lines)
    lines.clear()
    train(cfg, tmp_path / "run", code_version="aaaa", log=lines.append)
    assert any("already complete" in line for line in lines)
    lines.clear()
    again = train(cfg, tmp_path / "run", code_version="bbbb", log=lines.append)
    assert any("another code version; training it again" in line for line in lines), lines
    assert again.summary["fingerprint"].endswith("-bbbb") and first.summary["fingerprint"].endswith("-aaaa")
    pd.testing.assert_frame_equal(first.metrics, again.metrics)  # same code in fact: the same numbers


def test_first_layer_weights_reads_the_saved_model_and_names_bad_files(tmp_path):
    from bnnrepro.errors import DataError
    from bnnrepro.io import torch_save, write_seal
    from bnnrepro.train.records import first_layer_weights

    dense = {"0.weight": torch.arange(6 * 12, dtype=torch.float32).reshape(6, 12), "0.bias": torch.zeros(6)}
    torch_save({"input_shape": [1, 3, 4], "state_dict": dense}, tmp_path / "model.pt")
    w, tile = first_layer_weights(tmp_path)
    assert w.dtype == np.float32 and w.shape == (6, 12) and tile == (3, 4)  # a dense layer's tile is the image
    assert np.array_equal(w, dense["0.weight"].numpy())
    conv = {"0.weight": torch.ones(8, 3, 5, 5), "1.weight": torch.ones(10, 8)}
    torch_save({"input_shape": [3, 32, 32], "state_dict": conv}, tmp_path / "model.pt")
    assert first_layer_weights(tmp_path)[0].shape == (8, 3, 5, 5) and first_layer_weights(tmp_path)[1] == (5, 5)

    (tmp_path / "model.pt").write_bytes(b"not a model")
    with pytest.raises(DataError, match="has changed since it was written"):  # the seal says so first
        first_layer_weights(tmp_path)
    write_seal(tmp_path / "model.pt")  # sealed, but not a tensor file
    with pytest.raises(DataError, match="is not a bnnrepro tensor file"):
        first_layer_weights(tmp_path)
    torch_save({"input_shape": [1, 3, 4], "state_dict": {"0.bias": torch.zeros(6)}}, tmp_path / "model.pt")
    with pytest.raises(DataError, match="has no dense or convolution weight"):
        first_layer_weights(tmp_path)
    (tmp_path / "model.pt").unlink()
    with pytest.raises(DataError, match=r"model\.pt is missing"):
        first_layer_weights(tmp_path)

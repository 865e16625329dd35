"""The workflow on a real SLURM cluster: the ci preset through profiles/slurm on a single-node cluster
(tests/cluster/slurm.sh: slurmctld, slurmd, slurmdbd for sacct, MariaDB, munge, all on loopback),
once with every job step confined to its CPUs and once without. The results must equal the local
run's: every metrics.csv byte for byte.

The cluster's packages come from envs/install-system.sh (`make test` runs it); without them the
cluster does not start and these tests fail with the packages to install."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

CLUSTER_SCRIPT = ROOT / "tests" / "cluster" / "slurm.sh"


def free_port_base(start: int = 16817, stop: int = 17800) -> int:
    """The first of three consecutive loopback ports that nothing listens on (slurmctld, slurmd,
    slurmdbd), so that a second test session on this machine gets its own cluster."""
    for base in range(start, stop, 3):
        try:
            for port in range(base, base + 3):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no three free loopback ports in {start}-{stop}")


class Cluster:
    """A running test cluster: its state folder and the environment that reaches it."""

    def __init__(self, state: Path, port_base: int):
        self.state = state
        self.script_env = {**os.environ, "BNNREPRO_SLURM_DIR": str(state), "BNNREPRO_SLURM_PORT_BASE": str(port_base)}
        # The clients: the wrappers in state/bin know the cluster's config. SLURM_* variables of an
        # outer job (pytest run inside SLURM) would confuse the executor: dropped.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
        self.env["PATH"] = f"{state / 'bin'}{os.pathsep}{os.environ['PATH']}"
        self.env["SLURM_CONF"] = str(state / "etc" / "slurm.conf")

    def script(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(CLUSTER_SCRIPT), *args], env=self.script_env, capture_output=True, text=True, timeout=timeout
        )

    def up(self, confine: str) -> str:
        """Start the cluster, or reconfigure it to this confinement; returns the mode it runs with."""
        proc = self.script("up", "--confine", confine)
        assert proc.returncode == 0, f"the test SLURM cluster did not start: {proc.stderr.strip() or proc.stdout}"
        return (self.state / "confine").read_text().strip()

    def run(self, *command: str, timeout: float = 60) -> str:
        proc = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def jobs(self) -> list[dict[str, str]]:
        """Every job the accounting database knows: id, state, partition, requested and allocated
        resources (TRES), comment (the executor's: rule and wildcards)."""
        fields = ["JobIDRaw", "State", "Partition", "ReqTRES", "AllocTRES", "Comment"]
        out = self.run(
            "sacct",
            "-X",
            "--allusers",
            "--parsable2",
            "--noheader",
            "--starttime",
            "2000-01-01",
            f"--format={','.join(fields)}",
        )
        return [dict(zip(fields, line.split("|"))) for line in out.splitlines() if line]


@pytest.fixture(scope="module")
def slurm_cluster():
    """A single-node SLURM cluster for this module, always stopped at the end (even when starting it
    failed half-way: `down` stops whatever has a pid file in the state folder)."""
    # Not under pytest's tmp_path: munged refuses a socket below a folder that others cannot enter
    # (pytest's are 0700). Short, too: unix socket paths have at most 107 bytes.
    state = Path(tempfile.mkdtemp(prefix="bnnrepro-slurm-"))
    state.chmod(0o755)
    cluster = Cluster(state, free_port_base())
    try:
        yield cluster
    finally:
        proc = cluster.script("down")
        assert proc.returncode == 0, proc.stderr
        shutil.rmtree(state, ignore_errors=True)


def cpus(tres: str) -> int:
    """The CPU count of a TRES list such as 'billing=1,cpu=1,mem=3000M,node=1'."""
    return int(dict(item.split("=", 1) for item in tres.split(","))["cpu"])


def metrics_files(results: Path) -> dict[str, bytes]:
    """Every metrics.csv under results/, by its path relative to results/."""
    return {str(path.relative_to(results)): path.read_bytes() for path in sorted(results.rglob("metrics.csv"))}


@pytest.mark.parametrize("confine", ["none", "auto"])
def test_ci_preset_on_slurm_equals_the_local_run(slurm_cluster, ci_run, tmp_path, confine):
    """`snakemake all --profile profiles/slurm` on the ci preset: every job a SLURM job (or a local
    rule), job status from sacct, training jobs that ask for a GPU in the gpu partition; the metrics
    equal the local run's. `auto` confines each job step to its cores (cgroups where the machine lets
    the cluster create them, else CPU affinity); `none` lets it run on every core."""
    mode = slurm_cluster.up(confine)
    assert mode in ({"none"} if confine == "none" else {"affinity", "cgroup"})
    jobs_before = {job["JobIDRaw"] for job in slurm_cluster.jobs()}

    local_base, _ = ci_run
    out = tmp_path / "out"
    gpu_config = tmp_path / "gpu.yaml"
    gpu_config.write_text("execution:\n  gpus_per_run: 1\n")
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "all",
        "--profile",
        "profiles/slurm",
        "--configfile",
        "workflow/configs/ci.yaml",
        # A stand-in GPU per training run: its jobs go to the gpu partition and run on the CPU.
        str(gpu_config),
        "--config",
        f"results={out / 'results'}",
        f"report_dir={out / 'report'}",
        # The test cluster's partitions; status checks every few seconds, not every 40 s.
        "--slurm-partition-config",
        str(slurm_cluster.state / "etc" / "partitions.yaml"),
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--slurm-logdir",
        str(tmp_path / "slurm-logs"),
        "--latency-wait",
        "5",
    ]
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=slurm_cluster.env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    print(f"ci preset on SLURM ({mode}): {wall:.0f} s")

    # The jobs ran on the cluster and every one completed; the partition followed the GPU request;
    # the timed jobs had their node to themselves (slurm_extra: --exclusive allocates every CPU).
    jobs = [job for job in slurm_cluster.jobs() if job["JobIDRaw"] not in jobs_before]
    assert jobs, "no SLURM job was submitted"
    assert {job["State"] for job in jobs} == {"COMPLETED"}, jobs
    gpu_jobs = [job for job in jobs if "gres/gpu=" in job["ReqTRES"]]
    cpu_jobs = [job for job in jobs if "gres/gpu=" not in job["ReqTRES"]]
    assert gpu_jobs and all(job["Partition"] == "gpu" for job in gpu_jobs), gpu_jobs
    assert cpu_jobs and all(job["Partition"] == "cpu" for job in cpu_jobs), cpu_jobs
    exclusive = [job for job in jobs if cpus(job["AllocTRES"]) > cpus(job["ReqTRES"])]
    assert exclusive, "no job ran with --exclusive: do the profile's set-resources name the timed rules?"

    # The results: the same files, byte for byte, as the local run of the same preset.
    local = metrics_files(local_base / "results")
    remote = metrics_files(out / "results")
    assert local, "the local run wrote no metrics.csv: nothing to compare"
    assert sorted(remote) == sorted(local)
    differing = [name for name in local if remote[name] != local[name]]
    assert not differing, f"metrics differ from the local run: {differing}"
    assert (out / "report" / "index.html").is_file()

# Helpers shared by the rule files. The logic lives in bnnrepro.workflow (plain, tested Python);
# this file binds it to the workflow: paths, the command that runs the package, code versions.
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from snakemake.exceptions import WorkflowError

from bnnrepro.errors import ConfigError
import bnnrepro.workflow as bw


def validate_workflow_config(config, schema):
    """Validate the config (with defaults) and every run's settings; stop with a clear message."""
    try:
        bw.validate_config(config, Path(workflow.basedir) / schema)
    except ConfigError as exc:
        raise WorkflowError(str(exc)) from None


def R(path):
    """A path under the results folder."""
    return os.path.join(config["results"], path)


def REPORT(path):
    """A path under the report folder."""
    return os.path.join(config["report_dir"], path)


# Rules run `python -m bnnrepro` from this checkout's src/. Without conda, `python` is the
# interpreter running Snakemake (the project environment, activated or not); with
# --software-deployment-method conda it is the rule's environment (envs/bnnrepro.yaml).
_uses_conda = "CONDA" in {m.name for m in workflow.deployment_settings.deployment_method}
_python_dir = "" if _uses_conda else f"export PATH={os.path.dirname(sys.executable)}:$PATH; "
# Doubled braces: Snakemake formats the prefix like a shell command.
shell.prefix(
    f"set -euo pipefail; export PYTHONPATH={Path(workflow.basedir) / 'src'}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
    f"{_python_dir}"
)
ENV = "../../envs/bnnrepro.yaml"


def code_version(component):
    return bw.code_version(component)


# `--cores` counts job slots, not the machine's cores: `snakemake --cores 8` on a 2-core machine
# would run 8 single-threaded trainings at once, each at a quarter of a core (and 8x the memory).
# A training job therefore claims cores_given / cores_present slots, so that at most one training
# process runs per physical core; its torch threads stay execution.threads_per_run.
def _given_cores():
    try:
        return workflow.cores or 1
    except WorkflowError:  # no --cores (--report, cluster executors): one slot per job
        return 1


GIVEN_CORES = _given_cores()
CORE_SLOTS = max(1, GIVEN_CORES // (os.cpu_count() or 1))
TRAIN_THREADS = config["execution"]["threads_per_run"]
TRAIN_JOB_THREADS = CORE_SLOTS * TRAIN_THREADS


def timed_job_threads(exclusive, job_threads, torch_threads):
    """(Snakemake threads, torch threads) of a timed job. An `exclusive` one claims every core so
    that no other job runs beside it and disturbs its clock. Rules pass the torch threads as a
    resource, not a param: they depend on --cores and os.cpu_count(), and a param change would make
    a later `snakemake -n` with other --cores want to rerun the job."""
    if exclusive:
        return GIVEN_CORES, min(GIVEN_CORES, os.cpu_count() or 1)
    return job_threads, torch_threads


def train_resources():
    return dict(mem_mb=config["execution"]["mem_mb_per_run"], gpu=config["execution"]["gpus_per_run"])


def data_marker(dataset):
    return R(f"data/{dataset}.verified")


def all_targets():
    """The report and every family's tables and figures (FAMILY_OUTPUTS is set in report.smk)."""
    return [REPORT("index.html")] + FAMILY_OUTPUTS




wildcard_constraints:
    dataset="fashion_mnist|mnist|cifar10|svhn",

# What every rule file needs: the package on the path, the validated config, the family registry,
# paths, code versions, threads. The logic lives in bnnrepro (plain, tested Python); this file binds
# it to Snakemake.
import json

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from bnnrepro.errors import ConfigError
from bnnrepro.families.registry import FAMILIES
from bnnrepro.workflow import config as config_checks
from bnnrepro.workflow.codeversion import code_version

# Snakemake's own validation (jsonschema, defaults filled), with messages naming the key and the fix.
config_checks.normalize(config)
try:
    validate(config, "../schemas/config.schema.yaml")
except WorkflowError as exc:
    raise WorkflowError(config_checks.explain_workflow_error(exc)) from None
try:
    for _warning in config_checks.check(config):
        logger.warning(f"warning: {_warning}")
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
    f"set -euo pipefail; umask 022; export PYTHONPATH={Path(workflow.basedir) / 'src'}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
    f"{_python_dir}"
)
ENV = "../../envs/bnnrepro.yaml"


# `--cores` counts job slots, not the machine's cores: `snakemake --cores 8` on a 2-core machine
# would run 8 single-threaded trainings at once, each at a quarter of a core (and 8x the memory).
# A training job therefore claims cores_given / cores_present slots, so that at most one training
# process runs per physical core. A job sent to a cluster (or run there by the job step) sizes
# itself from what it asks the scheduler for: one slot per thread.
def _given_cores():
    if workflow.remote_exec or workflow.non_local_exec:
        return 1
    try:
        return workflow.cores or 1
    except WorkflowError:  # no --cores (--report, dry runs of cluster profiles): one slot per job
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
        if workflow.remote_exec or workflow.non_local_exec:
            return 1, os.cpu_count() or 1  # alone on its node (slurm_extra: --exclusive)
        return GIVEN_CORES, min(GIVEN_CORES, os.cpu_count() or 1)
    return job_threads, torch_threads


def train_resources():
    return dict(mem_mb=config["execution"]["mem_mb_per_run"], gpu=config["execution"]["gpus_per_run"])


def section_json(family):
    """A family's config section as the JSON its `tables` / `figures` verbs take (a parameter: a
    change of the section reruns them)."""
    return json.dumps(config[family], sort_keys=True, default=str)


# Every rule's benchmark file mirrors its log: logs/X.log <-> benchmarks/X.tsv (`bnnrepro plan` and
# the report's time table find a job's measured time from its log path).
def data_marker(dataset):
    return R(f"data/{dataset}.verified")


wildcard_constraints:
    dataset="fashion_mnist|mnist|cifar10|svhn",

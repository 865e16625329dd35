# What every rules file needs (the package on the path, the validated config, the family registry,
# paths, code versions, threads). The logic lives in bnnrepro (plain, tested Python); this file binds
# it to Snakemake.
import json
import shlex

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
    for _warning in config_checks.check(config, root=workflow.basedir):
        logger.warning(f"warning: {_warning}")
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None


def results_path(path):
    """A path under the results folder. Logs and benchmarks are there too, and the benchmark file of
    every job mirrors its log (logs/X.log <-> benchmarks/X.tsv), so that `bnnrepro plan` and the
    report's time table find a job's measured time from its log path."""
    return os.path.join(config["results"], path)


def report_path(path):
    """A path under the report folder."""
    return os.path.join(config["report_dir"], path)


def _shell_word(text):
    """``text`` as one shell word, its braces doubled (Snakemake formats the prefix)."""
    return shlex.quote(str(text)).replace("{", "{{").replace("}", "}}")


# Rules run `python -m bnnrepro` from this checkout's src/. Without conda, `python` is the
# interpreter running Snakemake (the project environment, activated or not); with
# --software-deployment-method conda it is the rule's environment (envs/bnnrepro.yaml).
_uses_conda = "CONDA" in {m.name for m in workflow.deployment_settings.deployment_method}
_python_dir = "" if _uses_conda else f"export PATH={_shell_word(os.path.dirname(sys.executable))}:$PATH; "
# The command that ran this workflow, for the report's provenance: in the environment of the jobs,
# not a param, so that running with another command line (other --cores, say) rebuilds nothing.
# sys.argv[0] is .venv/bin/snakemake, or .../snakemake/__main__.py under `python -m snakemake`
_invocation = " ".join(["snakemake"] + sys.argv[1:]) if "snakemake" in sys.argv[0] else "snakemake"
# Doubled braces: Snakemake formats the prefix like a shell command.
shell.prefix(
    f"set -euo pipefail; umask 022; export PYTHONPATH={_shell_word(Path(workflow.basedir) / 'src')}"
    "${{PYTHONPATH:+:$PYTHONPATH}}; "
    f"export BNNREPRO_COMMAND={_shell_word(_invocation)}; {_python_dir}"
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
    """(Snakemake threads, torch threads) of a timed job. Its torch threads are those of the config
    (the same on every machine: results depend on the thread count). An `exclusive` one claims
    every local core, so that no other job runs beside it and disturbs its clock; on a cluster it
    asks for its own threads and runs alone on its node (the profile's `--exclusive`). Rules pass
    the torch threads as a resource, not a param, so that their value never reruns a job."""
    if exclusive and not (workflow.remote_exec or workflow.non_local_exec):
        return max(GIVEN_CORES, torch_threads), torch_threads
    return job_threads, torch_threads


def train_resources():
    return dict(mem_mb=config["execution"]["mem_mb_per_run"], gpu=config["execution"]["gpus_per_run"])


def section_json(family):
    """A family's config section as the JSON its `tables` / `figures` verbs take (a parameter: a
    change of the section reruns them)."""
    return json.dumps(config[family], sort_keys=True, default=str)


# The benchmark file of every job mirrors its log (logs/X.log <-> benchmarks/X.tsv), so that
# `bnnrepro plan` and the report's time table find a job's measured time from its log path.
# `--data-dir DIR` of the jobs that read datasets, as a list: each word quoted by `{params.data_dir:q}`.
DATA_DIR_ARGS = ["--data-dir", config["data_dir"]] if config["data_dir"] else []


def data_marker(dataset):
    """The marker file train.smk touches once a dataset is located and verified; every job that
    reads the dataset takes it as an input."""
    return results_path(f"data/{dataset}.verified")


def family_outputs(family):
    """The tables and figures of an enabled family (what `all` and the report need)."""
    if not family.enabled(config):
        return []
    tables = [results_path(p) for p in family.tables(config).values()]
    return tables + [report_path(s.path) for s in family.figures(config)]


def code_stamp(name, version):
    """A file named after the version of the code a job runs, an input of the job. A results folder
    copied next to other code carries no Snakemake records of the code its outputs were made with,
    and Snakemake runs no job whose outputs exist only because an input is missing; so the stamp
    of this code's version is written when the workflow is read, newer than every output made with
    other code, and those jobs rerun. (Made by the code_stamp rule in a new results folder.)"""
    path = results_path(f"code/{name}-{version}.stamp")
    # Only in a results folder that exists (a dry run of a fresh config creates nothing).
    if os.path.isdir(config["results"]) and not os.path.exists(path):
        try:
            from bnnrepro.io import write_text

            write_text(path, f"{version}\n", seal=False)
        except OSError:
            pass  # a read-only results folder (a dry run of someone else's): the rule makes it
    return path


def train_threads(family, which):
    """(Snakemake threads, torch threads)[which] of a training job of `family` (TIMED_THREADS: train.smk)."""
    return TIMED_THREADS.get(family, (TRAIN_JOB_THREADS, TRAIN_THREADS))[which]

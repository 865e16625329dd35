# bnnrepro: regenerate the study of memorization in binarized neural networks.
#   snakemake --cores 8 all                                   default config (config.yaml)
#   snakemake --cores 8 all --configfile workflow/configs/ci.yaml       tiny end-to-end run
#   snakemake -n all --configfile workflow/configs/paper.yaml     the original study's full matrix
# Every family's facts live in its package (src/bnnrepro/families/<name>); the rule files bind them.
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version

min_version("9.0")
sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from bnnrepro.errors import ConfigError
from bnnrepro.workflow import config as config_checks
from bnnrepro.workflow import failures

# Our own reading of every config file first: a YAML error or a duplicate key names the file and
# line (Snakemake's own message names neither, and YAML keeps the last of two equal keys silently).
try:
    for _configfile in [Path(workflow.basedir) / "config.yaml", *workflow.overwrite_configfiles]:
        config_checks.load_yaml(_configfile)
except ConfigError as exc:
    raise WorkflowError(str(exc)) from None


configfile: "config.yaml"


include: "workflow/rules/common.smk"


from bnnrepro.data.registry import DATASETS  # importable once common.smk has put src/ on the path


wildcard_constraints:
    dataset="|".join(DATASETS),  # every dataset of the registry


include: "workflow/rules/train.smk"
include: "workflow/rules/efficiency.smk"
include: "workflow/rules/kernels.smk"
include: "workflow/rules/lookup_tables.smk"
include: "workflow/rules/families.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        report_path("index.html"),
        report_path("claims.csv"),
        results_path("report.checked"),
        ALL_FAMILY_OUTPUTS,
    localrule: True


_HELD_LOCKS = []

# While it runs: a line per finished training chunk (runs done / to train, time left by the plan's
# model). At the end: the verdict tally and the report's path, also when there was nothing to do
# (Snakemake then calls no handler: bnnrepro.workflow.progress registers an exit hook).
from bnnrepro.workflow import progress as _progress

_progress.on_nothing_to_do(workflow, Path(report_path("index.html")), Path(report_path("claims.csv")))


# One workflow at a time writes a results folder, whichever checkout it runs from (Snakemake's own
# lock is per checkout): the lock is held until this process ends.
onstart:
    from bnnrepro.io import hold_lock

    try:
        _HELD_LOCKS.append(
            hold_lock(
                config["results"],
                ".workflow.lock",
                f"the results folder {config['results']} is being written by another workflow (another "
                "checkout, or another snakemake here); wait for it to end or choose another results folder",
            )
        )
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise WorkflowError(str(exc)) from None
    _progress.start(workflow, config, CHUNKS, lambda chunk: train_threads(chunk.family, 0))


onsuccess:
    _progress.say_finish(Path(report_path("index.html")), Path(report_path("claims.csv")))


# A failed job's one clear line (from its log, where the console's quiet profile leaves it) and
# the log's path, on the console.
onerror:
    _scheduler = getattr(workflow, "scheduler", None)
    failures.report(
        log,
        config["results"],
        jobs=[(job.rule.name, [str(f) for f in job.log]) for job in getattr(_scheduler, "failed", ())],
    )

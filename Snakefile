# bnnrepro: regenerate the study of memorization in binarized neural networks.
#   snakemake --cores 8 all                                   default config (config.yaml)
#   snakemake --cores 8 all --configfile workflow/configs/ci.yaml       tiny end-to-end run
#   snakemake -n --configfile workflow/configs/paper.yaml     the original study's full matrix
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"


validate_workflow_config(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/data.smk"
include: "workflow/rules/memorization.smk"
include: "workflow/rules/easy_examples.smk"
include: "workflow/rules/efficiency.smk"
include: "workflow/rules/binaryconnect.smk"
include: "workflow/rules/lutnet.smk"
include: "workflow/rules/kernels.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),

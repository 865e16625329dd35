# bnnrepro: regenerate the study of memorization in binarized neural networks.
#   snakemake --cores 8 all                                   default config (config.yaml)
#   snakemake --cores 8 all --configfile workflow/configs/ci.yaml       tiny end-to-end run
#   snakemake -n all --configfile workflow/configs/paper.yaml     the original study's full matrix
# Every family's facts live in its package (src/bnnrepro/families/<name>); the rule files bind them.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"


wildcard_constraints:
    dataset="fashion_mnist|mnist|cifar10|svhn",


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
        ALL_FAMILY_OUTPUTS,
    localrule: True


onsuccess:
    print(
        f"\nReport: {os.path.abspath(report_path('index.html'))}"
        f"  (claims: {os.path.abspath(report_path('claims.csv'))})"
    )

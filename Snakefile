# bayesbach: do recurrent networks trained to perceive noisy Bach learn to predict it?
# The stages live in workflow/rules/; the computations in the bayesbach package.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/dataset.smk"
include: "workflow/rules/networks.smk"
include: "workflow/rules/references.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/generalisation.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        study_targets(config),

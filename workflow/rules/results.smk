# Results: every run's record -> CSV tables and seaborn figures for the report.
# Captions quote numbers through params.facts (see report_facts in common.smk).
# These jobs take seconds: on a cluster they run on the submitting host (localrule), not in the queue.

TABLES = "results/tables"
FIGURES = "results/figures"


rule aggregate:
    input:
        logreg=logreg_main_files(),
        sweep=logreg_sweep_files(),
        lenet=lenet_evaluation_files(),
        lenet_training=lenet_training_files(),
        identities=rules.identities.output.table,
    output:
        runs=report(
            f"{TABLES}/runs.csv",
            caption="../report/runs.rst",
            category="Data",
            labels={"result": "table", "shows": "one row per run"},
        ),
        summary=report(
            f"{TABLES}/summary.csv",
            caption="../report/summary.rst",
            category="Data",
            labels={"result": "table", "shows": "mean, std, 95% CI per variant"},
        ),
        escape=report(
            f"{TABLES}/escape.csv",
            caption="../report/escape.rst",
            category="Logistic regression",
            labels={"result": "table", "shows": "escape rates from chance"},
        ),
        comparisons=report(
            f"{TABLES}/comparisons.csv",
            caption="../report/comparisons.rst",
            category="Data",
            labels={"result": "table", "shows": "differences, CIs, p-values, verdicts"},
        ),
        pairs=report(
            f"{TABLES}/pair_difficulty.csv",
            caption="../report/pair_difficulty_table.rst",
            category="Logistic regression",
            labels={"result": "table", "shows": "digit-pair sweep"},
        ),
        facts=f"{TABLES}/facts.json",
    log:
        "results/logs/results/aggregate.log",
    benchmark:
        "results/benchmarks/results/aggregate.tsv"
    localrule: True
    params:
        logreg_steps=sorted(set(LOGREG["eval_steps"]) | {LOGREG["steps"]}),
        seed=config["stats"]["seed"],
        resamples=config["stats"]["resamples"],
        facts=report_facts,
    script:
        "../../scripts/aggregate.py"


rule lenet_params:
    output:
        report(
            f"{TABLES}/params.csv",
            caption="../report/params.rst",
            category="LeNet-5",
            labels={"result": "table", "shows": "trainable parameters per layer"},
        ),
    log:
        "results/logs/results/lenet_params.log",
    localrule: True
    params:
        c3=LENET["c3"],
        facts=report_facts,
    script:
        "../../scripts/lenet_params.py"


rule environment:
    output:
        report(
            f"{TABLES}/environment.csv",
            caption="../report/environment.rst",
            category="Environment",
            labels={"result": "table", "shows": "software of the submitting host"},
        ),
    log:
        "results/logs/results/environment.log",
    localrule: True
    params:
        device=config["device"],
    script:
        "../../scripts/environment.py"


rule hardware:
    input:
        logreg=logreg_main_files(),
        sweep=logreg_sweep_files(),
        lenet=lenet_training_files(),
    output:
        report(
            f"{TABLES}/hardware.csv",
            caption="../report/hardware.rst",
            category="Environment",
            labels={"result": "table", "shows": "where each training run ran"},
        ),
    log:
        "results/logs/results/hardware.log",
    localrule: True
    script:
        "../../scripts/hardware.py"


rule rule_benchmarks:
    input:
        job_benchmark_files,
    output:
        report(
            f"{TABLES}/rule_benchmarks.csv",
            caption="../report/rule_benchmarks.rst",
            category="Environment",
            labels={"result": "table", "shows": "time and peak memory per job"},
        ),
    log:
        "results/logs/results/rule_benchmarks.log",
    localrule: True
    script:
        "../../scripts/rule_benchmarks.py"


rule figure_logreg_steps:
    input:
        runs=f"{TABLES}/runs.csv",
    output:
        report(
            f"{FIGURES}/logreg_accuracy_vs_steps.png",
            caption="../report/logreg_steps.rst",
            category="Logistic regression",
            labels={"result": "figure", "shows": "accuracy vs steps"},
        ),
    log:
        "results/logs/results/figure_logreg_steps.log",
    benchmark:
        "results/benchmarks/results/figure_logreg_steps.tsv"
    localrule: True
    params:
        facts=report_facts,
    script:
        "../../scripts/figure.py"


rule figure_logreg_distribution:
    input:
        runs=f"{TABLES}/runs.csv",
        escape=f"{TABLES}/escape.csv",
    output:
        report(
            f"{FIGURES}/logreg_accuracy_distribution.png",
            caption="../report/logreg_distribution.rst",
            category="Logistic regression",
            labels={"result": "figure", "shows": "final accuracy of every run"},
        ),
    log:
        "results/logs/results/figure_logreg_distribution.log",
    benchmark:
        "results/benchmarks/results/figure_logreg_distribution.tsv"
    localrule: True
    params:
        facts=report_facts,
    script:
        "../../scripts/figure.py"


rule figure_pair_difficulty:
    input:
        pairs=f"{TABLES}/pair_difficulty.csv",
    output:
        report(
            f"{FIGURES}/pair_difficulty.png",
            caption="../report/pair_difficulty.rst",
            category="Logistic regression",
            labels={"result": "figure", "shows": "45-pair difficulty heatmap"},
        ),
    log:
        "results/logs/results/figure_pair_difficulty.log",
    benchmark:
        "results/benchmarks/results/figure_pair_difficulty.tsv"
    localrule: True
    params:
        facts=report_facts,
    script:
        "../../scripts/figure.py"


rule figure_accuracy_vs_params:
    input:
        runs=f"{TABLES}/runs.csv",
        summary=f"{TABLES}/summary.csv",
    output:
        report(
            f"{FIGURES}/lenet_accuracy_vs_params.png",
            caption="../report/accuracy_vs_params.rst",
            category="LeNet-5",
            labels={"result": "figure", "shows": "accuracy vs trainable parameters"},
        ),
    log:
        "results/logs/results/figure_accuracy_vs_params.log",
    benchmark:
        "results/benchmarks/results/figure_accuracy_vs_params.tsv"
    localrule: True
    params:
        facts=report_facts,
    script:
        "../../scripts/figure.py"


rule figure_lenet_epochs:
    input:
        training=lenet_training_files(),
        history=lenet_history_files(),
    output:
        report(
            f"{FIGURES}/lenet_accuracy_per_epoch.png",
            caption="../report/lenet_epochs.rst",
            category="LeNet-5",
            labels={"result": "figure", "shows": "test accuracy per epoch"},
        ),
    log:
        "results/logs/results/figure_lenet_epochs.log",
    benchmark:
        "results/benchmarks/results/figure_lenet_epochs.tsv"
    localrule: True
    params:
        facts=report_facts,
    script:
        "../../scripts/figure.py"


rule figure_lenet_confusion:
    input:
        evaluations=lenet_evaluation_files(),
    output:
        report(
            f"{FIGURES}/lenet_confusion.png",
            caption="../report/lenet_confusion.rst",
            category="LeNet-5",
            labels={"result": "figure", "shows": "confusion matrices"},
        ),
    log:
        "results/logs/results/figure_lenet_confusion.log",
    benchmark:
        "results/benchmarks/results/figure_lenet_confusion.tsv"
    localrule: True
    script:
        "../../scripts/figure.py"


rule figure_misclassified:
    input:
        evaluations=lenet_evaluation_files(seeds=LENET["seeds"][:1]),
        mnist=f"{DATA}/mnist.pt",
    output:
        report(
            f"{FIGURES}/lenet_misclassified.png",
            caption="../report/misclassified.rst",
            category="LeNet-5",
            labels={"result": "figure", "shows": "misclassified test digits"},
        ),
    log:
        "results/logs/results/figure_misclassified.log",
    benchmark:
        "results/benchmarks/results/figure_misclassified.tsv"
    localrule: True
    params:
        seed=LENET["seeds"][0],
    script:
        "../../scripts/figure.py"


rule figure_lenet_calibration:
    input:
        evaluations=lenet_evaluation_files(),
    output:
        report(
            f"{FIGURES}/lenet_calibration.png",
            caption="../report/lenet_calibration.rst",
            category="LeNet-5",
            labels={"result": "figure", "shows": "calibration next to accuracy"},
        ),
    log:
        "results/logs/results/figure_lenet_calibration.log",
    benchmark:
        "results/benchmarks/results/figure_lenet_calibration.tsv"
    localrule: True
    params:
        facts=report_facts,
    script:
        "../../scripts/figure.py"


rule figure_train_time:
    input:
        runs=f"{TABLES}/runs.csv",
    output:
        report(
            f"{FIGURES}/train_time.png",
            caption="../report/train_time.rst",
            category="Environment",
            labels={"result": "figure", "shows": "training time per variant"},
        ),
    log:
        "results/logs/results/figure_train_time.log",
    benchmark:
        "results/benchmarks/results/figure_train_time.tsv"
    localrule: True
    params:
        facts=report_facts,
    script:
        "../../scripts/figure.py"


rule figure_rule_resources:
    input:
        benchmarks=f"{TABLES}/rule_benchmarks.csv",
    output:
        report(
            f"{FIGURES}/rule_resources.png",
            caption="../report/rule_resources.rst",
            category="Environment",
            labels={"result": "figure", "shows": "time and peak memory per job"},
        ),
    log:
        "results/logs/results/figure_rule_resources.log",
    localrule: True
    script:
        "../../scripts/figure.py"

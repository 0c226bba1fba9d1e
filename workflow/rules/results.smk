# Results: every run's record -> CSV tables for the report (and for the figures, figures.smk).
# Captions quote numbers through params.facts (see report_facts in common.smk).
# These jobs take seconds: on a cluster they run on the submitting host (localrule), not in the queue.
# Logistic regression's own tables come first (aggregate_logreg, priority CHEAP_FIRST), as soon as its runs are
# done; the tables that span the experiments (runs, summary, the comparisons' one Holm family) and the facts come
# once LeNet-5's runs are done (aggregate). Each table draws its own random stream
# (mnistrepro.outputs.aggregate.table_rng).


rule aggregate_logreg:
    input:
        logreg=logreg_main_files(),
        sweep=logreg_sweep_files(),
    output:
        # The runs of logistic regression alone, for its figures (runs.csv has every experiment's).
        runs=f"{STUDY}/logreg/runs.csv",
        escape=report(
            f"{TABLES}/escape.csv",
            caption="../report/escape.rst",
            category="Logistic regression",
            labels={"result": "table", "shows": "escape rates from chance"},
        ),
        escape_sensitivity=report(
            f"{TABLES}/escape_sensitivity.csv",
            caption="../report/escape_sensitivity.rst",
            category="Logistic regression",
            labels={"result": "table", "shows": "escape rates at fixed thresholds"},
        ),
        pairs=report(
            f"{TABLES}/pair_difficulty.csv",
            caption="../report/pair_difficulty_table.rst",
            category="Logistic regression",
            labels={"result": "table", "shows": "digit-pair sweep: ranks, tests"},
        ),
    log:
        f"{LOGS}/results/aggregate_logreg.log",
    benchmark:
        f"{BENCHMARKS}/results/aggregate_logreg.tsv"
    priority: CHEAP_FIRST
    localrule: True
    params:
        seed=config["stats"]["seed"],
        resamples=config["stats"]["resamples"],
        escape_alpha=config["stats"]["escape_alpha"],
        facts=report_facts,
    script:
        "../../scripts/aggregate_logreg.py"


# Two exploratory looks at the LeNet-5 runs (mnistrepro/analysis/exploratory.py): they describe and test nothing, so
# none of their numbers enters comparisons.csv; rule aggregate reads their tables for the facts.
rule exploratory_lenet:
    input:
        evaluations=lenet_evaluation_files(),
        training=lenet_training_files(),
        history=lenet_history_files(),
        sweep=logreg_sweep_files(),
        pairs=rules.aggregate_logreg.output.pairs,
    output:
        confusions=report(
            f"{TABLES}/lenet_pair_confusions.csv",
            caption="../report/lenet_pair_confusions_table.rst",
            category="LeNet-5",
            labels={"result": "table", "shows": "digit-pair confusion rates (exploratory)"},
        ),
        ranking=report(
            f"{TABLES}/pair_ranking_models.csv",
            caption="../report/pair_ranking_models.rst",
            category="LeNet-5",
            labels={"result": "table", "shows": "pair rankings: LeNet-5 vs logistic regression (exploratory)"},
        ),
        per_epoch=report(
            f"{TABLES}/c3_per_epoch.csv",
            caption="../report/c3_per_epoch_table.rst",
            category="LeNet-5",
            labels={"result": "table", "shows": "sparse - full at every epoch (exploratory)"},
        ),
    log:
        f"{LOGS}/results/exploratory_lenet.log",
    benchmark:
        f"{BENCHMARKS}/results/exploratory_lenet.tsv"
    localrule: True
    params:
        seed=config["stats"]["seed"],
        resamples=config["stats"]["resamples"],
        facts=report_facts,
    script:
        "../../scripts/exploratory.py"


# The exploratory pixel-scale grid's table (exists only when the config enables the grid). Its facts join facts.json
# through rule aggregate; its numbers never join the comparisons (comparisons.csv holds the confirmatory tests).
if SCALE_GRID["enabled"]:

    rule scale_grid:
        input:
            records=scale_grid_files(),
        output:
            table=report(
                f"{TABLES}/scale_grid.csv",
                caption="../report/scale_grid_table.rst",
                category="Logistic regression",
                labels={"result": "table", "shows": "escape rate and accuracy vs pixel divisor (exploratory)"},
            ),
        log:
            f"{LOGS}/results/scale_grid.log",
        benchmark:
            f"{BENCHMARKS}/results/scale_grid.tsv"
        priority: CHEAP_FIRST
        localrule: True
        params:
            seed=config["stats"]["seed"],
            resamples=config["stats"]["resamples"],
            escape_alpha=config["stats"]["escape_alpha"],
            facts=report_facts,
        script:
            "../../scripts/scale_grid.py"


rule aggregate:
    input:
        logreg=logreg_main_files(),
        sweep=logreg_sweep_files(),
        lenet=lenet_evaluation_files(),
        lenet_training=lenet_training_files(),
        identities=rules.identities.output.table,
        exploratory_confusions=rules.exploratory_lenet.output.confusions,
        exploratory_ranking=rules.exploratory_lenet.output.ranking,
        exploratory_per_epoch=rules.exploratory_lenet.output.per_epoch,
        scale_grid=scale_grid_table_file(),
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
        comparisons=report(
            f"{TABLES}/comparisons.csv",
            caption="../report/comparisons.rst",
            category="Data",
            labels={"result": "table", "shows": "differences, CIs, p-values, verdicts"},
        ),
        lenet_test_set=report(
            f"{TABLES}/lenet_test_set.csv",
            caption="../report/lenet_test_set.rst",
            category="LeNet-5",
            labels={"result": "table", "shows": "test-set uncertainty, ECE binnings"},
        ),
        facts=FACTS,
    log:
        f"{LOGS}/results/aggregate.log",
    benchmark:
        f"{BENCHMARKS}/results/aggregate.tsv"
    localrule: True
    params:
        logreg_steps=evaluated_steps(LOGREG["eval_steps"], LOGREG["steps"]),
        pair=PAIR,
        stats=config["stats"],
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
        f"{LOGS}/results/lenet_params.log",
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
        f"{LOGS}/results/environment.log",
    localrule: True
    params:
        device=config["device"],
    script:
        "../../scripts/environment.py"


rule hardware:
    input:
        logreg=logreg_main_files(),
        pair_sweep=logreg_sweep_files(),
        scale_grid=scale_grid_files(),
        lenet=lenet_training_files(),
    output:
        report(
            f"{TABLES}/hardware.csv",
            caption="../report/hardware.rst",
            category="Environment",
            labels={"result": "table", "shows": "where each training run ran"},
        ),
    log:
        f"{LOGS}/results/hardware.log",
    localrule: True
    script:
        "../../scripts/hardware.py"


rule rule_benchmarks:
    input:
        job_benchmark_files,
    output:
        table=report(
            f"{TABLES}/rule_benchmarks.csv",
            caption="../report/rule_benchmarks.rst",
            category="Environment",
            labels={"result": "table", "shows": "time and peak memory per job"},
        ),
    log:
        f"{LOGS}/results/rule_benchmarks.log",
    localrule: True
    params:
        # A job is named by its benchmark's path under the study's benchmarks or the shared ones.
        roots=[BENCHMARKS, SHARED_BENCHMARKS],
    script:
        "../../scripts/rule_benchmarks.py"

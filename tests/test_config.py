"""The config schema: defaults, and a clear error naming the key for each kind of bad value."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import REPO, registered_metrics, run_snakemake
from mnistrepro.study.choices import C3_KINDS, DEVICES, LOSSES, SCALINGS, SOURCES
from mnistrepro.study.config import ConfigError, check_config, seed_list
from mnistrepro.study.cpu_kernels import CPU_KERNELS

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")
# Every enum of the schema, by its place in the schema, and the package's list it must equal. None lists variants
# (losses, scalings, C3 kinds): check_config is the one check of those names against the registry.
SCHEMA_ENUMS = {
    "properties/device": DEVICES,
    "properties/cpu_kernels": CPU_KERNELS,
    "properties/data/properties/sources/items": SOURCES,
}
# Settings that choose among those lists, and what they take by default: every value.
DEFAULT_ALL = {"logreg/scalings": SCALINGS, "data/sources": SOURCES}
# The variants the default study runs: some of the registry's, in its order (a new variant need not run by default).
DEFAULT_SOME = {"logreg/losses": LOSSES, "lenet/c3": C3_KINDS}


@pytest.fixture
def config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def set_key(config: dict, dotted: str, value) -> dict:
    bad = copy.deepcopy(config)
    *parents, last = dotted.split(".")
    node = bad
    for key in parents:
        node = node[key]
    node[last] = value
    return bad


def test_shipped_config_is_valid(config):
    validate(config, SCHEMA)
    check_config(config)


def test_the_lenet_n_follows_from_the_plan_stated_in_the_config(config):
    """The default LeNet-5 n is the plan's: the TOST's n at the C3 family's strictest Holm level (its size from the
    comparisons the study builds), from the pilot SD and margin the config states; and its seeds are new ones,
    none of seeds 0-32, which earlier looks saw."""
    import numpy as np

    from mnistrepro.outputs.aggregate import comparisons_table, runs_table
    from mnistrepro.analysis.definitions import ALPHA
    from mnistrepro.analysis.stats import equivalence_required_n

    gen = np.random.default_rng(0)
    records = [({"c3": c3, "seed": s, "epochs": 10, "trainable_params": 1, "train_seconds": 1.0, "device": "cpu"},
                {"c3": c3, "seed": s, "test_loss": 0.1, "correct": 1, "total": 1,
                 **registered_metrics("lenet", test_accuracy=0.98 + 0.001 * gen.standard_normal(), top2_accuracy=1.0, ece=0.01)})
               for c3 in ("sparse", "full")
               for s in range(4)]
    table = comparisons_table(runs_table(lenet=records), [], equivalence_margin=0.001)
    family_size = int(table.loc[table["key"] == "c3_sparse_vs_full_equivalence", "family_size"].iloc[0])
    assert family_size == 2
    stats = config["stats"]
    n = equivalence_required_n(stats["planning_paired_sd"] / 100, stats["equivalence_margin"] / 100,
                               ALPHA / family_size)
    seeds = seed_list(config["lenet"]["seeds"])
    assert n == len(seeds) == 26
    assert not set(seeds) & set(range(33)) and len(set(seeds)) == len(seeds)


def test_seeds_are_a_count_or_a_list(config):
    assert seed_list(3) == [0, 1, 2] and seed_list([5, 2]) == [5, 2]
    validate(set_key(config, "logreg.seeds", [7, 8]), SCHEMA)
    for bad in (0, [1, 1], "many"):
        with pytest.raises(WorkflowError):
            validate(set_key(config, "logreg.seeds", bad), SCHEMA)


def test_schema_fills_defaults():
    config = {}
    validate(config, SCHEMA)
    assert config["pair"] == [4, 9]
    assert config["logreg"]["lr"] == 1e-4 and len(seed_list(config["logreg"]["seeds"])) >= 200
    assert config["stats"] == {"seed": 0, "resamples": 9999, "image_resamples": 1999, "escape_alpha": 0.01,
                               "equivalence_margin": 0.1, "target_difference": 0.2, "planning_paired_sd": None,
                               "paired_sd_notes": None}
    assert config["lenet"]["epochs"] == 10
    for dotted, values in DEFAULT_ALL.items():
        section, key = dotted.split("/")
        assert config[section][key] == list(values), dotted
    for dotted, values in DEFAULT_SOME.items():
        section, key = dotted.split("/")
        assert config[section][key] and config[section][key] == [v for v in values if v in config[section][key]]
    check_config(config)


def schema_enums(node, where: str = "") -> dict[str, list]:
    """Every ``enum`` in the schema ``node``, by its place (keys joined with '/')."""
    if not isinstance(node, dict):
        return {}
    found = {where: node["enum"]} if "enum" in node else {}
    for key, child in node.items():
        found |= schema_enums(child, f"{where}/{key}".lstrip("/"))
    return found


def test_schema_enums_are_the_package_lists():
    """The schema's choices are the package's (mnistrepro.study.choices): a value the package adds or drops
    must be added to or dropped from the schema too, and a new enum must name its list here. No enum lists the
    variants: a new loss or C3 kind is its registry entry and its implementation, not a schema edit."""
    enums = schema_enums(yaml.safe_load(Path(SCHEMA).read_text()))
    assert enums == {where: list(values) for where, values in SCHEMA_ENUMS.items()}


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("logreg.steps", "many", r"'many' is not of type 'integer'"),  # wrong type
        ("logreg.lr", 0, r"0 is less than or equal to the minimum of 0"),  # out of range
        ("lenet.epochs", 0, r"0 is less than the minimum of 1"),  # out of range
        ("logreg.losses", ["mse", 3], r"3 is not of type 'string'"),  # a variant name is a string (its value: check_config)
        ("pair", [4, 10], r"10 is greater than the maximum of 9"),  # digit outside 0-9
        ("pair", [4, 4], r"\[4, 4\] has non-unique elements"),  # the same digit twice
        ("pair", [4], r"\[4\] is too short|should be non-empty|fewer than 2"),
        ("device", "tpu", rf"'tpu' is not one of {re.escape(str(list(DEVICES)))}"),
        ("data.sources", ["official", "ftp"], r"'ftp' is not one of"),
        ("lenet.colour", "red", r"Additional properties are not allowed \('colour' was unexpected\)"),  # typo'd key
    ],
)
def test_bad_value_names_key_and_expectation(config, key, value, expected):
    with pytest.raises(WorkflowError) as err:
        validate(set_key(config, key, value), SCHEMA)
    message = str(err.value)
    assert re.search(expected, message), message
    path = "".join(f"[{part!r}]" for part in key.split("."))
    assert f"On instance{path}" in message or f"On instance{path.rsplit('[', 1)[0]}" in message, message


UNKNOWN_VARIANTS = [
    ("logreg.losses", ["mse", "no_such_loss"],
     rf"logreg.losses: unknown loss 'no_such_loss'; expected one of {re.escape(str(list(LOSSES)))}"),
    ("pair_sweep.loss", "no_such_loss",
     rf"pair_sweep.loss: unknown loss 'no_such_loss'; expected one of {re.escape(str(list(LOSSES)))}"),
    ("logreg.scalings", ["raw", "half"],
     rf"logreg.scalings: unknown scaling 'half'; expected one of {re.escape(str(list(SCALINGS)))}"),
    ("pair_sweep.scaling", "half",
     rf"pair_sweep.scaling: unknown scaling 'half'; expected one of {re.escape(str(list(SCALINGS)))}"),
    ("lenet.c3", ["sparse", "sixteen"], rf"lenet.c3: unknown c3 'sixteen'; expected one of {re.escape(str(list(C3_KINDS)))}"),
]


@pytest.mark.parametrize("key, value, expected", UNKNOWN_VARIANTS)
def test_unknown_variant_is_refused_by_the_config_check(config, key, value, expected):
    """The schema lists no variant (any string passes it); the config check is the one check of the names: it
    refuses a variant the registry does not name, naming the key and the registry's names, before any job; never
    computed as another variant."""
    bad = set_key(config, key, value)
    validate(bad, SCHEMA)
    with pytest.raises(ConfigError, match=expected):
        check_config(bad)


def test_eval_steps_beyond_steps_is_refused(config):
    bad = set_key(config, "logreg.eval_steps", [1000, 20000])
    with pytest.raises(ConfigError, match=r"logreg.eval_steps: \[20000\] exceed logreg.steps \(10000\)"):
        check_config(bad)


@pytest.mark.parametrize("key, value, expected", [
    ("pair", [4, 4], [r"has non-unique elements", r"On instance\['pair'\]"]),  # the schema
    UNKNOWN_VARIANTS[0][:2] + ([UNKNOWN_VARIANTS[0][2]],),  # the config check
])
def test_bad_config_stops_the_run_before_any_job(config, tmp_path, key, value, expected):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(set_key(config, key, value)))
    result = run_snakemake(tmp_path / "work", "-n", config=bad)
    assert result.returncode != 0
    for pattern in expected:
        assert re.search(pattern, result.stderr + result.stdout), (pattern, result.stderr[-2000:])
    assert not (tmp_path / "work" / "results").exists()


def test_local_only_source_needs_a_directory(config):
    bad = set_key(set_key(config, "data.sources", ["local"]), "data.local_dir", None)
    with pytest.raises(ConfigError, match=r"data.local_dir: required when data.sources is \[local\]"):
        check_config(bad)


def test_figure_index_must_be_among_the_checked_images(config):
    bad = set_key(set_key(config, "identities.n_images", 100), "identities.figure_index", 100)
    with pytest.raises(ConfigError, match=r"identities.figure_index: 100 is not among the first identities.n_images \(100\)"):
        check_config(bad)


@pytest.mark.parametrize("sweep, expected", [
    ({"steps": 1000, "long_seeds": 5, "long_steps": 1000},
     r"pair_sweep.long_steps: expected more than pair_sweep.steps \(1000\), got 1000"),
])
def test_sweep_long_runs_must_fit_the_sweep(config, tmp_path, sweep, expected):
    bad = tmp_path / "bad.yaml"
    config["pair_sweep"].update(sweep)
    bad.write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path / "work", "-n", config=bad)
    assert result.returncode != 0 and re.search(expected, result.stderr + result.stdout), result.stderr[-2000:]
    assert not (tmp_path / "work" / "results").exists()


def test_every_schema_key_has_a_description():
    from mnistrepro.study.config_docs import config_keys

    schema = yaml.safe_load(Path(SCHEMA).read_text())
    keys = list(config_keys(schema))
    assert len(keys) > 40
    undescribed = [key for key, node in keys if not node.get("description", "").strip()]
    assert not undescribed, undescribed
    assert all(node.get("description") for node in schema["definitions"].values())


def test_config_reference_is_generated_from_the_schema():
    """docs/config.md is what `python -m mnistrepro.study.config_docs` prints: it lists every key, and a schema
    change without `--write` fails here."""
    from mnistrepro.study.config_docs import DOC, config_keys, render

    assert DOC.read_text() == render(), "docs/config.md is out of date: run python -m mnistrepro.study.config_docs --write"
    doc = DOC.read_text()
    for key, node in config_keys(yaml.safe_load(Path(SCHEMA).read_text())):
        assert f"| `{key}` |" in doc, key


def test_config_reference_changes_with_the_schema():
    """The check above can fail: a changed description gives another page."""
    from mnistrepro.study.config_docs import render

    schema = yaml.safe_load(Path(SCHEMA).read_text())
    schema["properties"]["device"]["description"] = "changed"
    assert render(schema) != render()

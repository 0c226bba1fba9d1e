"""The report's facts (mnistrepro.analysis.facts): measured, or not run because the configuration left their part out;
anything else missing is an error that names it. And the README's results block is regenerated only from the
facts of a finished study of the configuration it names."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mnistrepro.analysis.facts import (FACTS_FORMAT, NOT_RUN, Facts, FactsFileError, LeftOut, MissingFactError,
                                       config_differences, current_facts, left_out_parts, read_facts, study_config,
                                       write_facts)
from mnistrepro.outputs.findings import README_BLOCK, RESULTS_FACTS, load_config
from mnistrepro.report.not_run import left_out_words, not_run_parts

REPO = Path(__file__).resolve().parents[1]


def default_config() -> dict:
    return study_config(load_config(str(REPO / "config.yaml")))


def test_the_default_config_leaves_out_only_settings_the_reference_never_ran():
    parts = not_run_parts(left_out_parts(default_config()))
    assert [part.split(" (")[0] for part in parts] == ["the reference's single run"]
    keys = next(iter(parts.values()))
    assert "reference_mse_raw_final" not in keys and "reference_ce_raw_1000" not in keys
    assert "reference_mse_raw_1000" in keys


def test_parts_left_out_name_their_facts():
    config = default_config()
    config["logreg"]["scalings"] = ["raw"]
    config["lenet"]["c3"] = ["full"]
    config["pair"] = [3, 5]
    facts = Facts({"logreg_mse_raw_final_mean": "55.00%"}, not_run_parts(left_out_parts(config)), config=config)
    assert facts["logreg_mse_raw_final_mean"] == "55.00%"
    for key in ("logreg_mse_unit_final_mean", "scaling_unit_vs_raw_final_verdict", "loss_ce_vs_mse_unit_final_verdict",
                "lenet_sparse_mean", "c3_sparse_vs_full_claim", "c3_claims", "lenet_n_plan",
                "reference_mse_raw_final"):
        assert facts[key] == NOT_RUN, key
    assert "LeNet-5 with the sparse C3 (not in lenet.c3)" == facts.part_not_run("lenet_sparse_ece")
    assert facts.part_not_run("c3_sparse_vs_full_ece_verdict").startswith("the C3 connection table comparison of "
                                                                          "sparse C3 with full C3")
    for key in ("logreg_mse_raw_final_ci", "lenet_full_mean", "loss_ce_vs_mse_raw_final_verdict",
                "identities_verdict"):
        with pytest.raises(MissingFactError, match=f"has no fact '{key}'"):
            facts[key]


def test_each_part_left_out_is_worded_with_the_setting_that_left_it_out():
    """Every kind of part the analysis finds (mnistrepro.analysis.facts.left_out_parts) has its words in the report
    layer (mnistrepro.report.not_run); the facts file keys the parts by them."""
    config = default_config()
    config["logreg"].update(losses=["mse"], scalings=["raw"])
    config["lenet"]["c3"] = ["sparse"]
    config["pair_sweep"]["enabled"] = False
    config["scale_grid"]["enabled"] = False
    left_out = left_out_parts(config)
    assert LeftOut("c3_kind", ("full",)) in left_out and LeftOut("pair_sweep") in left_out
    worded = not_run_parts(left_out)
    assert list(worded)[:2] == ["logistic regression with the ce loss (not in logreg.losses)",
                                "logistic regression on unit pixels (not in logreg.scalings)"]
    assert worded["LeNet-5 with the full C3 (not in lenet.c3)"] == ["lenet_full_*"]
    assert worded["the digit-pair sweep (pair_sweep.enabled is false)"][0] == "sweep_n_*"
    assert sum(map(len, worded.values())) == sum(map(len, left_out.values()))
    with pytest.raises(ValueError, match="no words for the left-out part"):
        left_out_words(LeftOut("a part nobody worded"))


def test_the_reference_runs_where_the_reference_ran():
    """4 vs 9 at 10,000 steps has the reference's MSE run; the same pair at 3,000 steps does not."""
    config = default_config()
    assert Facts({}, not_run_parts(left_out_parts(config))).part_not_run("reference_mse_raw_final") is None
    config["logreg"].update(steps=3000, eval_steps=[100, 1000])
    facts = Facts({}, not_run_parts(left_out_parts(config)))
    assert facts["reference_mse_raw_final"] == NOT_RUN
    assert facts.part_not_run("reference_ce_raw_1000") is None  # the logistic loss's reference: 1,000 steps


def test_no_facts_yet_is_an_error_that_says_to_run_the_study():
    with pytest.raises(MissingFactError, match="asked for before results/tables/facts.json exists") as err:
        Facts(origin="results/tables/facts.json")["lenet_verdict"]
    assert "Run the study first" in err.value.action


def test_missing_is_not_a_lookup_error():
    """Jinja renders a key whose lookup raises a LookupError as an empty string: this one must not be one."""
    assert not issubclass(MissingFactError, LookupError)
    from jinja2 import Environment

    with pytest.raises(MissingFactError):
        Environment().from_string("{{ f.lenet_sprase_mean }}").render(f=Facts({"lenet_sparse_mean": "98.6%"}))


def test_write_read_round_trip_and_pickle(tmp_path):
    config = default_config()
    config["pair_sweep"]["enabled"] = False
    write_facts(tmp_path / "facts.json", {"identities_verdict": "23 of 23"}, not_run_parts(left_out_parts(config)),
                {**config, "facts": None, "findings": [], "labels": {"steps": "10 steps"}})
    facts = read_facts(tmp_path / "facts.json")
    assert facts == {"identities_verdict": "23 of 23"} and facts.config == config
    assert facts["pair_verdict_1000"] == NOT_RUN
    again = pickle.loads(pickle.dumps(facts))  # the config, facts included, goes to every job this way
    assert again == facts and again.not_run == facts.not_run and again.config == facts.config
    with pytest.raises(MissingFactError, match=str(tmp_path / "facts.json")):
        again["lenet_verdict"]


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("", "is empty"),
    ("{not json", "is not JSON"),
    ('{"identities_verdict": "23 of 23"}', f"is not a facts file of format {FACTS_FORMAT} \\(its format: none\\)"),
    ('{"format": "mnistrepro-facts/0", "facts": {}}', "its format: mnistrepro-facts/0"),
])
def test_a_bad_facts_file_is_refused_naming_it(tmp_path, content, message):
    path = tmp_path / "facts.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(FactsFileError, match=message):
        read_facts(path)


def test_only_this_configurations_facts_are_current(tmp_path):
    """The workflow uses a facts file only where it is this configuration's: an older version's file, one of
    another configuration or none at all means the study aggregates again (and a run is not broken by it)."""
    config = default_config()
    path = tmp_path / "facts.json"
    assert current_facts(path, config) is None
    path.write_text(json.dumps({"lenet_verdict": "equivalent"}))  # a format before mnistrepro-facts/2
    assert current_facts(path, config) is None
    write_facts(path, {"identities_verdict": "23 of 23"}, not_run_parts(left_out_parts(config)), config)
    assert current_facts(path, config) == {"identities_verdict": "23 of 23"}
    other = json.loads(json.dumps(config))
    other["lenet"]["epochs"] = 2
    assert current_facts(path, other) is None


def test_config_differences_name_the_keys():
    a = default_config()
    b = json.loads(json.dumps(a))
    b["lenet"]["seeds"] = [0, 1]
    b["study"] = "ci"
    assert config_differences(a, b) == [f"lenet.seeds: {a['lenet']['seeds']!r} vs [0, 1]", "study: 'default' vs 'ci'"]


# ---------------------------------------------------------------------------- findings --write-readme


@pytest.fixture()
def readme_copy(tmp_path) -> Path:
    """A copy of the README (and of docs/results-facts.json beside it) to regenerate."""
    shutil.copyfile(REPO / "README.md", tmp_path / "README.md")
    (tmp_path / "docs").mkdir()
    shutil.copyfile(REPO / RESULTS_FACTS, tmp_path / RESULTS_FACTS)
    return tmp_path / "README.md"


def write_readme(facts: Path, config: str, readme: Path, *more: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mnistrepro.outputs.findings", str(facts), "--config", config,
                           "--write-readme", str(readme), *more], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def snapshot_of(readme: Path) -> tuple[str, str]:
    return readme.read_text(), (readme.parent / RESULTS_FACTS).read_text()


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("", "is empty"),
    ("old", "is not a facts file of format"),
])
def test_write_readme_refuses_a_missing_empty_or_foreign_facts_file(readme_copy, tmp_path, content, message):
    """Before a study has finished, with a mistyped path, or with a file of another format (the README's
    snapshot before this format): exit 1, one plain sentence, and the README and its snapshot untouched."""
    facts = tmp_path / "facts.json"
    if content == "old":
        facts.write_text(json.dumps({"lenet_verdict": "equivalent"}))
    elif content is not None:
        facts.write_text(content)
    before = snapshot_of(readme_copy)
    result = write_readme(facts, "config.yaml", readme_copy)
    assert result.returncode == 1
    assert message in result.stderr and "What to do:" in result.stderr, result.stderr
    assert snapshot_of(readme_copy) == before


def test_write_readme_refuses_facts_of_another_configuration(readme_copy):
    """The default study's facts (the README's snapshot) given with the CI configuration: refused, naming
    where the configurations differ."""
    before = snapshot_of(readme_copy)
    result = write_readme(REPO / RESULTS_FACTS, ".test/config.yaml", readme_copy)
    assert result.returncode == 1
    assert "was made under another configuration than .test/config.yaml" in result.stderr, result.stderr
    assert "data.local_dir: None vs '.test-data/idx'" in result.stderr and " more)" in result.stderr
    assert snapshot_of(readme_copy) == before


def test_write_readme_regenerates_the_block_from_matching_facts(readme_copy):
    """The snapshot's own facts with the default configuration regenerate the same block."""
    before = readme_copy.read_text()
    source = read_facts(REPO / RESULTS_FACTS)["source"]
    result = write_readme(REPO / RESULTS_FACTS, "config.yaml", readme_copy, "--source", source)
    assert result.returncode == 0, result.stderr
    start, end = README_BLOCK
    block = lambda text: text[text.index(start):text.index(end)]  # noqa: E731
    assert block(readme_copy.read_text()) == block(before)
    assert read_facts(readme_copy.parent / RESULTS_FACTS) == read_facts(REPO / RESULTS_FACTS)


def test_the_model_comparison_heading_names_its_confound():
    """LeNet-5's pair confusions against logistic regression's pair ranking: a ten-class CNN against binary linear
    classifiers, so model and task differ together, and the heading says so (it does not say "depends on the
    model")."""
    from mnistrepro.report.findings import findings

    line = next(line for line in findings(default_config(), read_facts(REPO / RESULTS_FACTS))
                if "ten-class" in line)
    heading = line.split("**")[1]
    assert heading == "Exploratory: which pair is hardest for a ten-class CNN and for binary linear classifiers"
    assert "model and task differ together" in line and "depends on the model" not in line

"""The README and the pages of docs/ as a reader gets them (quick tier: text only, no workflow run).

The README is short and links the depth in docs/; every command on those pages is collected for
tests/test_readme_commands.py; every link resolves; the counts they state are the default configuration's; and
no sentence tells the project's history (what an earlier version did, where a thing was written, a missed goal).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from conftest import REPO
from mnistrepro.outputs.findings import README_BLOCK, load_config
from mnistrepro.study.config import seed_list
from mnistrepro.study.seeds import seed_groups
from test_readme_commands import COMMANDS, documented_commands

README = REPO / "README.md"
# Written elsewhere: SPEC.md quotes a published reference; the README's results block and docs/results.md are
# generated from the facts (tests/test_aggregate.py checks them), and say, as statistics, which confirmatory family
# was chosen after earlier looks at the runs.
NOT_PROSE = {"docs/SPEC.md", "docs/results.md"}


def without_results_block(text: str) -> str:
    start, end = README_BLOCK
    if start not in text:
        return text
    head, rest = text.split(start, 1)
    return head + rest.split(end, 1)[1]


def user_texts() -> dict[str, str]:
    """The README (its generated block left out) and every page of docs/ but those in NOT_PROSE."""
    texts = {"README.md": without_results_block(README.read_text())}
    for path in sorted((REPO / "docs").glob("*.md")):
        name = str(path.relative_to(REPO))
        if name not in NOT_PROSE:
            texts[name] = path.read_text()
    return texts


# ------------------------------------------------------------------------------------------- the README's shape

def sections(text: str) -> list[str]:
    return re.findall(r"^## (.+)$", text, re.M)


def test_the_readme_is_short_and_starts_with_the_quick_start_then_the_results():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    assert sections(text)[:2] == ["Quick start", "Results at a glance"]
    quick_start = text.split("## Quick start", 1)[1]
    first_block = re.search(r"^```bash\n(.*?)^```", quick_start, re.S | re.M).group(1)
    assert ".venv/bin/snakemake --cores all\n" in first_block and ".venv/bin/pytest\n" in first_block
    results = text.split("## Results at a glance", 1)[1].split("\n## ", 1)[0]
    assert README_BLOCK[0] in results and README_BLOCK[1] in results


def test_every_docs_page_is_linked_from_the_readme():
    readme = README.read_text()
    for path in sorted((REPO / "docs").glob("*.md")):
        assert f"](docs/{path.name}" in readme, f"the README does not link {path.name}"


def test_the_commands_of_the_docs_pages_are_collected():
    """tests/test_readme_commands.py runs the commands of docs/ too: each page's commands are among COMMANDS."""
    pages = documented_commands()
    assert pages["docs/deployments.md"] and pages["docs/lenet-design.md"] and pages["docs/studies.md"]
    for name, commands in pages.items():
        assert set(commands) <= set(COMMANDS), name
    assert "sudo .ci/slurm-setup.sh" in COMMANDS  # a command only docs/deployments.md shows


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.+)$", path.read_text(), re.M)}


def test_every_relative_link_resolves():
    """Each link of the README and docs/ to a file of the repository names a file that exists, and its anchor, if
    any, a heading of that file."""
    broken = []
    for path in [README, *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
            if re.match(r"\w+://", target):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if not linked.exists():
                broken.append(f"{path.name}: {target} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                broken.append(f"{path.name}: {target} (no such heading)")
    assert broken == []


def test_the_reproducibility_page_keeps_its_heading():
    """config.yaml's comment and other pages point to it by this heading."""
    assert "# The same numbers on another CPU\n" in (REPO / "docs/reproducibility.md").read_text()


# ------------------------------------------------------------------------------- counts: the default config's

def default_counts() -> dict[str, int]:
    """What the default configuration (config.yaml, the schema's defaults filled in) runs."""
    config = load_config(str(REPO / "config.yaml"))
    lenet, logreg, sweep = config["lenet"], config["logreg"], config["pair_sweep"]
    lenet_seeds = seed_list(lenet["seeds"])
    return {
        "lenet_seeds": len(lenet_seeds),
        "lenet_runs": len(lenet_seeds) * len(lenet["c3"]),
        "gpu_jobs": len(lenet["c3"]) * len(seed_groups(lenet_seeds, 10)),
        "logreg_seeds": len(seed_list(logreg["seeds"])),
        "pairs": len(sweep["pairs"]) if sweep["pairs"] else math.comb(10, 2),
        "steps": logreg["steps"],
        "epochs": lenet["epochs"],
    }


# The phrases in which the README and docs/ state a count of the default study; the count each must equal.
COUNT_PHRASES = {
    r"(\d+) seeds per C3 kind": "lenet_seeds",
    r"(\d+) paired seeds": "lenet_seeds",
    r"(\d+) LeNet-5 runs": "lenet_runs",
    r"LeNet-5 runs \d+ of (\d+)": "lenet_runs",
    r"(\d+) one-seed jobs": "lenet_runs",
    r"(\d+) (?:GPU|training) jobs of at most 10 seeds": "gpu_jobs",
    r"([\d,]+) logistic-regression seeds": "logreg_seeds",
    r"all (\d+) digit pairs": "pairs",
    r"for ([\d,]+) steps": "steps",
    r"for (\d+) epochs": "epochs",
}


def stale_counts(text: str, counts: dict[str, int]) -> list[str]:
    """Each count ``text`` states in one of COUNT_PHRASES that differs from ``counts``."""
    flat = " ".join(text.split())
    stale = []
    for phrase, key in COUNT_PHRASES.items():
        for match in re.finditer(phrase, flat):
            if int(match.group(1).replace(",", "")) != counts[key]:
                stale.append(f"{match.group(0)!r}: the default config has {counts[key]} ({key})")
    return stale


def test_the_counts_stated_are_the_default_configs():
    counts = default_counts()
    assert (counts["lenet_seeds"], counts["lenet_runs"], counts["logreg_seeds"]) == (26, 52, 200)  # as config.yaml
    found = {name: stale_counts(text, counts) for name, text in user_texts().items()}
    assert {name: stale for name, stale in found.items() if stale} == {}
    # The README states them (the durations and the progress example among them), so the check is not empty.
    readme = " ".join(without_results_block(README.read_text()).split())
    for phrase in COUNT_PHRASES:
        if phrase not in (r"(\d+) paired seeds", r"(\d+) one-seed jobs", r"(\d+) (?:GPU|training) jobs of at most 10 seeds"):
            assert re.search(phrase, readme), f"the README no longer states {phrase}"


def test_a_stale_count_would_be_caught():
    counts = default_counts()
    assert stale_counts("(`Progress: 40% of the estimated work; LeNet-5 runs 26 of 66, 25 min", counts)
    assert stale_counts("LeNet-5 with 33 seeds per C3\nkind", counts)
    assert stale_counts("200 runs, 12 paired seeds", counts)
    assert not stale_counts("LeNet-5 runs 26 of 52 and 200 logistic-regression seeds for 10,000 steps", counts)


# ------------------------------------------------------------------------------------------ no history in it

HISTORY = [
    r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b",  # a commit hash
    r"\bat commit\b",
    r"\b(?:19|20)\d\d-\d\d(?:-\d\d)?\b",  # the date of a past run
    r"\bearlier (?:version|default|look)",
    r"\bas an earlier run\b",
    r"\bas earlier defaults\b",
    r"\bbefore (?:this|these|the change|the pairing|it was)\b",
    r"\bwas written\b",
    r"\bwhen it was\b",
    r"\bgoals? (?:is|was|are|were) not met\b",
    r"\bcame after\b",
    r"\blooked at (?:\w+ )?times\b",
    r"\bthe old\b",
    r"\bold/new\b",
    r"\bthe latest (?:full |default )?run\b",
    r"\bit replaced\b",
    r"\bused to\b",
    r"\bhas not (?:been )?run on a \w+ yet\b",
]


def history(text: str) -> list[str]:
    """The phrases of ``text`` that tell the project's history rather than what is true now."""
    flat = " ".join(text.split())
    return [m.group(0) for pattern in HISTORY for m in re.finditer(pattern, flat, re.I)]


def test_no_sentence_tells_the_projects_history():
    found = {name: history(text) for name, text in user_texts().items()}
    assert {name: phrases for name, phrases in found.items() if phrases} == {}


@pytest.mark.parametrize("sentence", [
    "Before this pairing, the other layers were drawn from one stream per model.",
    "Seeds 0-32 were looked at three times as earlier defaults grew (12 pairs, then 30).",
    "1.23-1.30x on the 2-core machine where it was written, whose torch.tanh ran at scalar speed",
    "so the 1.3x goal is not met on such a CPU.",
    "its LeNet-5 training (seeds 33-58) at commit 4002f54, 71 min 42 s",
    "after `train()` was split into its steps (af751b9), with the same results",
    "The grouped training and the fused CPU step came after that run.",
    "it ran once, on an NVIDIA H200, on 2026-11-28",
    "no GPU was available when it was\nwritten",
])
def test_history_would_be_caught(sentence):
    assert history(sentence)


@pytest.mark.parametrize("sentence", [
    "MSE on raw pixels escaped in 41 of 200 runs on an AMD EPYC (x86-64, Intel since 2013).",
    "the SHA-256 of `model.pt`; sparse 98.60% (98.44-98.72); seeds 33 to 58",
    "from the rule benchmarks of a previous run in the same clone",
])
def test_a_present_fact_is_not_history(sentence):
    assert history(sentence) == []

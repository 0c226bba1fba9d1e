"""The report layer (mnistrepro.report) builds every sentence for people; no other module does, and it holds words
only: it imports neither torch nor a statistics library (numpy, scipy, statsmodels, mnistrepro.analysis.stats), so
every number it words was computed below it.

The first test reads every module of mnistrepro/ and scripts/ outside mnistrepro/report/, and the workflow's Python
(the Snakefile and workflow/rules/*.smk, as Snakemake compiles them), as a syntax tree and lists each string that
words a sentence for people:

- a result: a literal (or an f-string's literal part) with verdict vocabulary in it, or a result formatted as a
  percentage (a ``%`` format spec, ``100 *`` inside an f-string, ``"...%%" % x``);
- the study's other sentences (:data:`SENTENCE_PATTERNS`, over a literal or an f-string read whole, its values
  as ``{}``): a duration or the progress of a run (``about {} left``, ``{} s``), a part of the study left out
  (``not run``, ``(not in logreg.losses)``), the data summary's labels (``(verified)``, ``{} -> -1``).

Exception messages, docstrings, argparse help and log calls about the run's mechanics are not report sentences
and are skipped; so are bare identifiers (a column named ``significant`` is a table's, not a sentence) and a report
entry's navigation labels (Snakemake's ``report(..., labels=...)``, a figure's ``shows``). A log message built
before logging (an f-string, not a literal with logging's own arguments) that is not a warning or an error still
counts for the other sentences: the console's lines (the progress) are such log records.

The captions (``workflow/report/*.rst``) take their values from the layer pre-formatted
(mnistrepro.report.captions): a scan of their Jinja tags fails on any formatting, counting, label building or
plural choice left in them.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

REPORT_LAYER = REPO / "mnistrepro" / "report"
SCANNED = [REPO / "mnistrepro", REPO / "scripts", REPO / "workflow"]
# The workflow's Python outside .py files: Snakemake's own parser turns them into Python (tests cannot import them).
WORKFLOW_FILES = [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]

# Words and phrases that only a sentence about a result uses (case-insensitive).
VERDICT_VOCABULARY = ("percentage points", "95% ci", "significant", "holm", "equivalen", "hardest", "escaped",
                      "not shown", "confidence set", "wilson", "bootstrap interval")
# A p-value's text ("p = 0.03", "p ≤ 1e-05", "p < 1e-300"), not "backprop = autograd".
P_VALUE = re.compile(r"(?<![\w])p [=≤<]")
# The sections of config.yaml (its top-level keys), which a setting's dotted name starts with.
CONFIG_SECTIONS = sorted(re.findall(r"^(\w+):", (REPO / "config.yaml").read_text(), re.M))
# The study's other sentences for people, matched in a literal or in an f-string read whole with ``{}`` for each
# value (case-insensitive), each with what it words.
DURATION = "a duration or a run's progress"
NOT_RUN_WORDS = "a part of the study left out"
DATA_SUMMARY = "the data summary"
SENTENCE_PATTERNS = [
    (re.compile(r"\{\}\s*(?:s|ms|µs|min|h)\b(?!\w*[/(])"), DURATION),  # "{} s", "{} min" (not "{} s/it", "{} h(x)")
    (re.compile(r"\belapsed\b|\{\} left\b|\bestimated (?:duration|work)\b|\bjob time\b|\bcannot estimate\b"),
     DURATION),
    # "not run", "(not in logreg.losses)" (a setting of config.yaml), "(needs both ...)", "(exploratory; needs the
    # sweep)", "(scale_grid.enabled is false)"
    (re.compile(rf"\bnot run\b|\bnot in (?:{'|'.join(CONFIG_SECTIONS)})\.\w+|[(;] ?needs |\.enabled is false\b"),
     NOT_RUN_WORDS),
    (re.compile(r"\(verified\)|\bsource that served\b|-> [-+]1\b|\bchecksums?\b"), DATA_SUMMARY),
]
# The one literal of those kinds that a module below the report layer holds, and why.
ALLOWED_LITERALS = {
    # The value a fact of a part left out reads: the facts container (mnistrepro.analysis.facts.Facts, read at parse
    # time and by the report) answers with it, and cannot import the layer above it. A fixed value, built from nothing.
    ("mnistrepro/analysis/facts.py", "not run in this configuration"),
}

_LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
_LOG_FAILURES = {"warning", "error", "exception", "critical"}
_ARGPARSE_TEXT = {"help", "description", "epilog", "usage"}
# A report entry's navigation (Snakemake's report(..., caption=, category=, labels=); a figure's "shows", which
# becomes its label): names what an entry shows, states no result.
_REPORT_ENTRY_TEXT = {"caption", "category", "subcategory", "labels", "shows"}
# A name, not a sentence: a column, a fact key or a key's pattern ("significant", "escaped_*_raw_").
_IDENTIFIER = re.compile(r"[\w.*\-]*")


def _call_name(call: ast.Call) -> tuple[str, str]:
    """``(receiver, name)`` of a call: ``("self.log", "info")`` for ``self.log.info(...)``, ``("", "print")``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return ast.unparse(func.value), func.attr
    return "", func.id if isinstance(func, ast.Name) else ""


def _exempt_subtrees(tree: ast.AST) -> tuple[set[int], set[int]]:
    """The ids of nodes whose strings are not report sentences: exception messages, log calls, argparse text,
    warnings, a report entry's navigation labels, and docstrings (any string that is a statement of its own); and
    of those, the messages built for the console's log lines (they still count for :data:`SENTENCE_PATTERNS`)."""
    exempt: list[ast.AST] = []
    console: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise):
            exempt.append(node)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            exempt.append(node)
        elif isinstance(node, ast.Call):
            receiver, name = _call_name(node)
            if name.endswith(("Error", "Exit", "Exception")) or (receiver, name) == ("warnings", "warn"):
                exempt.append(node)
            elif name in _LOG_METHODS and "log" in receiver.lower():
                exempt.append(node)
                # A message built before logging (an f-string, a call: Snakemake's console prints a record's message
                # without its arguments) is a console line, unless it reports a failure; a literal with logging's own
                # arguments logs the run's mechanics.
                message = node.args[1 if name == "log" else 0] if len(node.args) > (name == "log") else None
                if name not in _LOG_FAILURES and message is not None and not isinstance(message, ast.Constant):
                    console.append(message)
            else:
                exempt += [k.value for k in node.keywords if k.arg in _ARGPARSE_TEXT | _REPORT_ENTRY_TEXT]
    exempt_ids = {id(n) for root in exempt for n in ast.walk(root)}
    return exempt_ids, {id(n) for root in console for n in ast.walk(root)}


def _literal_offence(text: str) -> str | None:
    if _IDENTIFIER.fullmatch(text):
        return None
    lowered = text.lower()
    found = [word for word in VERDICT_VOCABULARY if word in lowered] + P_VALUE.findall(lowered)
    return f"verdict words {found}" if found else None


def _is_hundred_times(node: ast.AST) -> bool:
    return any(isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mult)
               and any(isinstance(side, ast.Constant) and side.value == 100 for side in (n.left, n.right))
               for n in ast.walk(node))


def _template(node: ast.JoinedStr) -> str:
    """An f-string read whole, each value as ``{}``: ``f"about {format_duration(s)} left"`` -> ``about {} left``."""
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


def _sentence_offence(text: str) -> str | None:
    if _IDENTIFIER.fullmatch(text):
        return None
    found = [what for pattern, what in SENTENCE_PATTERNS if pattern.search(text.lower())]
    return f"{found[0]} ({text!r})" if found else None


def compiled_snakefile(path: Path) -> tuple[str, dict[int, int]]:
    """A Snakefile or .smk file as the Python Snakemake compiles it (its own parser), and the compiled code's line ->
    the file's line."""
    from snakemake.parser import parse
    from snakemake.sourcecache import LocalSourceFile

    class Sources:  # the one part of a Workflow that the parser uses: it opens the file
        @staticmethod
        def open(source):
            return open(source.get_path_or_uri(secret_free=True), encoding="utf-8")

    class Workflow:
        sourcecache = Sources()

    linemap: dict[int, int] = {}
    code, _ = parse(LocalSourceFile(str(path)), Workflow(), linemap)
    return code, linemap


def offences(path: Path) -> list[str]:
    """``module:line: what`` for each place in ``path`` that words a sentence for people (a Python module, a
    Snakefile or a .smk file)."""
    if path.suffix == ".py":
        tree, line_of = ast.parse(path.read_text(), filename=str(path)), {}
    else:
        code, line_of = compiled_snakefile(path)
        tree = ast.parse(code, filename=str(path))
    exempt, console_logs = _exempt_subtrees(tree)
    name = path.relative_to(REPO).as_posix() if REPO in path.parents else path.name
    # An f-string's parts are read with it (its template), not one by one.
    f_string_parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and (id(node) not in exempt or id(node) in console_logs):
            text = node.value if isinstance(node, ast.Constant) else _template(node)
            if isinstance(text, str) and id(node) not in f_string_parts and (name, text) not in ALLOWED_LITERALS:
                what = _sentence_offence(text)
                if what:
                    found.append(f"{name}:{line_of.get(node.lineno, node.lineno)}: {what}")
        if id(node) in exempt:
            continue
        what = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            what = _literal_offence(node.value)
        elif isinstance(node, ast.FormattedValue):
            spec = node.format_spec
            spec_text = "".join(v.value for v in getattr(spec, "values", []) if isinstance(v, ast.Constant))
            if spec_text.endswith("%"):
                what = f"percent format spec ':{spec_text}'"
            elif _is_hundred_times(node.value):
                what = "'100 *' inside an f-string"
        elif (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant)
              and isinstance(node.left.value, str) and "%%" in node.left.value):
            what = "'%%' formatting of a percentage"
        if what:
            found.append(f"{name}:{line_of.get(node.lineno, node.lineno)}: {what}")
    return sorted(set(found), key=lambda s: (s.split(":")[0], int(s.split(":")[1]), s))


# The registry: the names and labels the report uses for variants, comparisons and families (a label such as
# "hardest pair" or "C3 equivalence" names a row; it states no result).
REGISTRY = REPO / "mnistrepro" / "study" / "choices.py"


def scanned_modules() -> list[Path]:
    """Every Python module outside the report layer and the registry, and the workflow's Snakefiles."""
    modules = [p for root in SCANNED for p in root.rglob("*.py") if REPORT_LAYER not in p.parents and p != REGISTRY]
    return sorted(modules) + WORKFLOW_FILES


def test_no_module_outside_the_report_layer_words_a_result():
    offending = {}
    for path in scanned_modules():
        found = offences(path)
        if found:
            offending[path.relative_to(REPO).as_posix()] = found
    unexpected = [line for lines in offending.values() for line in lines]
    assert not unexpected, ("these build a sentence for people outside mnistrepro/report/ (move the wording "
                            "there; the module keeps the numbers):\n" + "\n".join(unexpected))
    for module, text in ALLOWED_LITERALS:  # an allowance outlives its literal only by mistake
        assert text in (REPO / module).read_text(), f"{module} no longer holds {text!r}: remove its allowance"


def test_the_scan_catches_a_verdict_a_percentage_and_skips_mechanics(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text(
        '"""A docstring may say significant, Holm and 95% CI."""\n'
        "import argparse, logging\n"
        "log = logging.getLogger(__name__)\n"
        "def f(x, p):\n"
        "    if p is None:\n"
        "        raise ValueError(f'no significant p = {p}')\n"
        "    log.info('Holm p = %s', p)\n"
        "    argparse.ArgumentParser().add_argument('--a', help='the hardest pair')\n"
        "    row = {'significant': True, 'escaped': 1, 'check': 'backprop = autograd'}\n"
        "    text = f'no significant difference ({x}, p = {p})'\n"
        "    return text + f'{x:.2%}' + f'{100 * x:.2f}'\n")
    assert [line.split(":", 2)[1:] for line in offences(module)] == [
        ["10", " verdict words ['p =']"],
        ["10", " verdict words ['significant']"],
        ["11", " '100 *' inside an f-string"],
        ["11", " percent format spec ':.2%'"],
    ]


def test_the_scan_catches_each_kind_of_sentence_and_skips_mechanics(tmp_path):
    """A duration, the progress, a part left out and the data summary's labels are caught in a module (a literal, an
    f-string read whole, an info log line to the console) and in a Snakefile's Python; exception messages, warnings,
    mechanics logged with logging's own arguments, docstrings, argparse help and report labels are not."""
    module = tmp_path / "probe.py"
    module.write_text(
        '"""A docstring may say about 5 min left, not run (not in lenet.c3) and MD5 (verified)."""\n'
        "import argparse, logging\n"
        "log = logging.getLogger(__name__)\n"
        "def f(s, n, part):\n"
        "    if s is None:\n"
        "        raise ValueError(f'took {s} s: not run (needs {part} in logreg.losses)')\n"
        "    log.warning('Estimated duration: cannot estimate (%s); elapsed %s', part, s)\n"
        "    log.info('%.2f s training for %d runs (MD5s verified, checksum ok)', s, n)\n"
        "    argparse.ArgumentParser().add_argument('--a', help='the time left, the source that served')\n"
        "    text = f'{s:.0f} s'\n"                                                      # line 10
        "    log.info(f'Progress: {n}% of the estimated work; about {s} left')\n"        # line 11
        "    words = f'logistic regression with the {part} loss (not in logreg.losses)'\n"  # line 12
        "    return [('source that served', part), (f'{n} vs {n} train images ({n} -> -1 + {n} -> +1)', n)]\n")
    assert offences(module) == [
        f"probe.py:10: {DURATION} ('{{}} s')",
        f"probe.py:11: {DURATION} ('Progress: {{}}% of the estimated work; about {{}} left')",
        f"probe.py:12: {NOT_RUN_WORDS} ('logistic regression with the {{}} loss (not in logreg.losses)')",
        f"probe.py:13: {DATA_SUMMARY} ('source that served')",
        f"probe.py:13: {DATA_SUMMARY} ('{{}} vs {{}} train images ({{}} -> -1 + {{}} -> +1)')",
    ]
    snakefile = tmp_path / "probe.smk"
    snakefile.write_text(
        "# A comment may say not run.\n"
        "def left(wildcards):\n"
        '    """The time left, in a docstring."""\n'
        '    return f"about {wildcards.s} left"\n'                                 # line 4
        "\n\n"
        "rule probe:\n"
        "    output:\n"
        '        report("x.csv", caption="c.rst", labels={"shows": "MNIST source, checksums, counts"}),\n'
        "    params:\n"
        '        note="the digit-pair sweep (pair_sweep.enabled is false)",\n'      # line 11
        "    run:\n"
        '        print(f"{len(output)} files, {params.note}: not run")\n')          # line 13
    assert offences(snakefile) == [
        f"probe.smk:4: {DURATION} ('about {{}} left')",
        f"probe.smk:11: {NOT_RUN_WORDS} ('the digit-pair sweep (pair_sweep.enabled is false)')",
        f"probe.smk:13: {NOT_RUN_WORDS} ('{{}} files, {{}}: not run')",
    ]


def test_the_report_layer_loads_neither_torch_nor_scipy():
    """Every module of the layer, imported in one fresh interpreter: none brings torch or scipy in, directly or through
    a module it imports (numpy is loaded by pandas, which the layer reads its tables with: the import scan below
    covers the layer's own imports of it)."""
    modules = ["mnistrepro.report"] + sorted(
        f"mnistrepro.report.{p.stem}" for p in REPORT_LAYER.glob("*.py") if p.stem != "__init__")
    code = (f"import sys; import {', '.join(modules)}; "
            "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'scipy'}); "
            "assert not loaded, loaded")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr


# What the words layer may not import: the statistics are computed below it (mnistrepro.analysis), and it words their
# numbers; the constants and result records it needs are in mnistrepro.analysis.definitions, free of these.
STATISTICS_LIBRARIES = ("numpy", "scipy", "statsmodels")
STATISTICS_MODULES = ("mnistrepro.analysis.stats",)


def statistics_imports(path: Path) -> list[str]:
    """``module:line: imports name`` for each import in ``path`` (at module level or in a function) of a statistics
    library or of mnistrepro.analysis.stats (``from mnistrepro.analysis import stats`` included)."""
    name = path.relative_to(REPO).as_posix() if REPO in path.parents else path.name
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            imported = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for module in imported:
            if module.split(".")[0] in STATISTICS_LIBRARIES or any(
                    module == banned or module.startswith(f"{banned}.") for banned in STATISTICS_MODULES):
                found.append(f"{name}:{node.lineno}: imports {module}")
                break
    return found


def test_the_report_layer_imports_no_statistics_library():
    found = [line for path in sorted(REPORT_LAYER.rglob("*.py")) for line in statistics_imports(path)]
    assert not found, ("the report layer words numbers computed below it; compute these in mnistrepro.analysis (its "
                       "constants and records: mnistrepro.analysis.definitions):\n" + "\n".join(found))


def test_the_statistics_import_scan_catches_each_form(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text(
        "import math\n"
        "import pandas as pd\n"
        "from mnistrepro.analysis.definitions import ALPHA\n"
        "from mnistrepro.analysis.comparisons import study_comparisons\n"
        "import numpy as np\n"                                        # line 5
        "from scipy import stats\n"                                   # line 6
        "from mnistrepro.analysis.stats import mean_interval\n"       # line 7
        "from mnistrepro.analysis import stats\n"                     # line 8
        "def f():\n"
        "    import statsmodels.api as sm\n"                          # line 10
        "    import scipy.stats, os\n")                                # line 11
    assert statistics_imports(module) == [
        "probe.py:5: imports numpy",
        "probe.py:6: imports scipy",
        "probe.py:7: imports mnistrepro.analysis.stats",
        "probe.py:8: imports mnistrepro.analysis.stats",
        "probe.py:10: imports statsmodels.api",
        "probe.py:11: imports scipy.stats",
    ]


# The captions (workflow/report/*.rst): text, the facts they quote, the labels of mnistrepro.report.captions, and at
# most a loop or a check of whether a part ran. Each entry: a pattern over a Jinja tag's expression (its string
# literals emptied, so that ", " or a fact's name never matches), and what it means.
CAPTIONS = REPO / "workflow" / "report"
_JINJA_TAG = re.compile(r"\{\{(?P<output>.*?)\}\}|\{%-?(?P<statement>.*?)-?%\}", re.S)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
CONDITIONAL = "a conditional expression (x if ... else y) picks a word"
CAPTION_LOGIC = [
    (re.compile(r"\.format\("), "'.format(' formats a number"),
    (re.compile(r"\|\s*\w+"), "a filter ('| name') computes or formats"),
    (re.compile(r"~"), "'~' builds a label"),
    (re.compile(r"\*\*|//|[+\-*/%]"), "arithmetic"),
    (re.compile(r"\bif\b[^{}]*\belse\b"), CONDITIONAL),
    (re.compile(r"[=!]=\s*\d|[<>]=?\s*\d"), "a comparison with a number (a plural or a count decided here)"),
    (re.compile(r"\[\s*-?\d+\s*\]"), "an element picked by position builds a label"),
]


def caption_offences(path: Path) -> list[str]:
    """``file:line: what: the tag`` for each Jinja tag of the caption at ``path`` that formats, counts, builds a
    label or chooses a plural: the work of mnistrepro.report.captions.caption_labels."""
    text = path.read_text()
    found = []
    for tag in _JINJA_TAG.finditer(text):
        expression = _STRING.sub('""', tag["output"] if tag["output"] is not None else tag["statement"])
        whats = [what for pattern, what in CAPTION_LOGIC if pattern.search(expression)]
        if tag["output"] is not None and re.search(r"\bif\b", expression) and CONDITIONAL not in whats:
            whats.append(CONDITIONAL)  # an output's "x if y" (no else) picks a word too
        line = text.count("\n", 0, tag.start()) + 1
        found += [f"{path.name}:{line}: {what}: {' '.join(tag[0].split())}" for what in whats]
    return found


def test_no_caption_formats_counts_or_chooses_a_plural():
    """Every caption receives its values pre-formatted (mnistrepro.report.captions): no ``.format(``, no filter
    such as ``| length``, no ``~``, no arithmetic, no ``x if n == 1 else y``."""
    captions = sorted(CAPTIONS.glob("*.rst"))
    assert len(captions) > 30
    found = [line for path in captions for line in caption_offences(path)]
    assert not found, ("these captions compute or format what the report layer should give them pre-formatted "
                       "(add a label to mnistrepro.report.captions.caption_labels and quote it):\n" + "\n".join(found))


def test_the_caption_scan_catches_each_kind_and_passes_text_loops_and_checks(tmp_path):
    caption = tmp_path / "probe.rst"
    caption.write_text(
        "{% set f = snakemake.params.facts %}\n"
        "{% set c = snakemake.config %}\n"
        "Prose may say sparse - full, (C[a, b] + C[b, a]) / (n_a + n_b) and 1 = lowest, {{ c.labels.steps }}.\n"
        '{% if "lenet_tost_power" in f %}{{ f.lenet_tost_power }}{% endif %}\n'
        "{% if c.pair_sweep.long_seeds %}x{% endif %}\n"
        "{% for s in c.labels.sweep_step_counts %}\n- After {{ s.steps }}: {{ f[s.pair_verdict] }}, "
        '{{ f["a-b/c"] }}.\n{% endfor %}\n'
        '{{ "{:,}".format(c.logreg.steps) }}\n'                                        # line 9
        "{{ c.lenet.seeds | length }} {{ c.lenet.seeds|length }}\n"                      # line 10
        '{% set pair = c.pair[0] ~ " vs " ~ c.pair[1] %}\n'                              # line 11
        "{{ c.pair_sweep.long_seeds * 2 }}\n"                                            # line 12
        "epoch{{ \"s\" if c.lenet.epochs != 1 else \"\" }}\n"                            # line 13
        "{% if c.lenet.epochs == 1 %}epoch{% else %}epochs{% endif %}\n"                 # line 14
        "{% for s in ([c.pair_sweep.steps] + [c.pair_sweep.long_steps]) %}{% endfor %}\n"  # line 15
        "{{ c.labels.x if c.labels.x }}\n")                                              # line 16
    found = [line.split(": ", 2)[:2] for line in caption_offences(caption)]
    assert found == [
        ["probe.rst:9", "'.format(' formats a number"],
        ["probe.rst:10", "a filter ('| name') computes or formats"],
        ["probe.rst:10", "a filter ('| name') computes or formats"],
        ["probe.rst:11", "'~' builds a label"],
        ["probe.rst:11", "an element picked by position builds a label"],
        ["probe.rst:12", "arithmetic"],
        ["probe.rst:13", CONDITIONAL],
        ["probe.rst:13", "a comparison with a number (a plural or a count decided here)"],
        ["probe.rst:14", "a comparison with a number (a plural or a count decided here)"],
        ["probe.rst:15", "arithmetic"],
        ["probe.rst:16", CONDITIONAL],
    ], found


def _default_config(**sections) -> dict:
    """config.yaml with ``sections``' keys replaced, seeds as lists (as common.smk makes them)."""
    import yaml

    from mnistrepro.study.config import seed_list

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for section, values in sections.items():
        config[section] = values if not isinstance(values, dict) else {**config[section], **values}
    for section in ("logreg", "pair_sweep", "lenet"):
        config[section]["seeds"] = seed_list(config[section]["seeds"])
    return config


def test_caption_labels_word_the_config_with_its_plurals():
    from mnistrepro.report.captions import caption_labels

    labels = caption_labels(_default_config())
    assert {k: labels[k] for k in ("pair", "steps", "steps_run", "logreg_seeds", "sweep_pairs", "sweep_steps",
                                   "long_seeds", "long_steps", "epochs", "lenet_seeds", "lenet_test_images",
                                   "sign_patterns", "logreg_step_counts")} == {
        "pair": "4 vs 9", "steps": "10,000 steps", "steps_run": "10,000-step", "logreg_seeds": "200 seeds",
        "sweep_pairs": "45 digit pairs", "sweep_steps": "1,000 steps", "long_seeds": "50 seeds",
        "long_steps": "10,000 steps", "epochs": "10 epochs", "lenet_seeds": "26 seeds",
        "lenet_test_images": "all MNIST test images", "sign_patterns": "9,999 sign patterns",
        "logreg_step_counts": "100, 300, 1000, 3000, 10000"}
    assert labels["sweep_step_counts"] == [
        {"steps": "1,000 steps", "hardest_pair": "hardest_pair_1000", "easiest_pair": "easiest_pair_1000",
         "sweep_n": "sweep_n_1000", "pair_verdict": "pair_verdict_1000", "pair_models": "pair_models_1000"},
        {"steps": "10,000 steps", "hardest_pair": "hardest_pair_10000", "easiest_pair": "easiest_pair_10000",
         "sweep_n": "sweep_n_10000", "pair_verdict": "pair_verdict_10000", "pair_models": "pair_models_10000"}]
    assert [kind["most_confused"] for kind in labels["c3_kinds"]] == ["lenet_sparse_most_confused",
                                                                    "lenet_full_most_confused"]
    # One of each: the singular; a sweep whose seeds all stop at `steps` ranks once; a pair listed twice runs once.
    one = caption_labels(_default_config(
        pair=[3, 5], logreg={"seeds": [7], "steps": 1, "eval_steps": [1]},
        pair_sweep={"pairs": [[9, 4], [4, 9]], "seeds": 1, "steps": 500, "long_seeds": 0},
        lenet={"seeds": [5], "epochs": 1, "test_limit": 1}))
    assert {k: one[k] for k in ("pair", "steps", "logreg_seeds", "sweep_pairs", "sweep_seeds", "epochs",
                                "lenet_seeds", "lenet_first_seed", "lenet_test_images")} == {
        "pair": "3 vs 5", "steps": "1 step", "logreg_seeds": "1 seed", "sweep_pairs": "1 digit pair",
        "sweep_seeds": "1 seed", "epochs": "1 epoch", "lenet_seeds": "1 seed", "lenet_first_seed": "5",
        "lenet_test_images": "the first 1 MNIST test image"}
    assert [s["steps"] for s in one["sweep_step_counts"]] == ["500 steps"]

"""The registry: every choice a study makes, each defined once, as data.

No torch import: the Snakefile reads this at parse time (wildcard constraints, config check) and the tests compare
the config schema's enums (data sources, devices) with its lists.

- The variants: each logistic-regression loss (:data:`LOSS_VARIANTS`), pixel scaling (:data:`SCALING_VARIANTS`) and
  LeNet-5 C3 kind (:data:`C3_VARIANTS`), with the label the report uses and what it costs. A loss's or a C3 kind's
  implementation is registered by the module that owns it (:func:`register`: mnistrepro.experiments.logreg registers
  each loss's forms, mnistrepro.experiments.lenet each C3 kind's layer factory) and looked up with
  :func:`implementation`: an unknown name is an error there, never another variant's code.
- The metrics (:data:`METRICS`): each run's numbers that the tables, the facts, the captions' lists and the
  comparisons use, each with its record field, experiments, words and how it is summarised.
- The comparisons (:data:`COMPARISONS`): rules for a paired difference against a reference variant, an
  equivalence test (TOST), the hardest of many; each in a confirmatory family (:data:`FAMILIES`) or descriptive.
  mnistrepro.analysis.comparisons expands them into one comparison per variant a study runs, so a new variant is
  compared against its reference, worded, listed and captioned without another line of code.

Adding a loss or a C3 kind: one entry here and its implementation in its module. The config schema lists no
variant; mnistrepro.study.config.check_config checks the config's names against this registry. Adding a metric: one
entry here and its computation in the evaluation that records it (LeNet-5's: mnistrepro.experiments.lenet_eval).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

# LeNet-5's C3 (mnistrepro.experiments.lenet): 6 input maps, 16 output maps, 5x5 kernels.
C3_IN_MAPS = 6
C3_OUT_MAPS = 16
C3_KERNEL = 5


@dataclass(frozen=True)
class LossVariant:
    """A logistic-regression loss of the logit ``z`` and label ``y`` in {-1, +1}.

    ``label``: how the report names it (figures, tables, verdicts); ``short``: the short form (a strip's label).
    """

    name: str
    label: str
    short: str


@dataclass(frozen=True)
class C3Variant:
    """A LeNet-5 C3 layer, 6 -> 16 maps with 5x5 kernels, ``connections`` (input map, output map) pairs of
    which carry a kernel: its trainable parameters are ``connections * 25 + 16`` (one bias per output map)."""

    name: str
    label: str
    connections: int

    @property
    def params(self) -> int:
        """The analytic count of trainable parameters."""
        return self.connections * C3_KERNEL * C3_KERNEL + C3_OUT_MAPS


@dataclass(frozen=True)
class ScalingVariant:
    """A pixel scaling of logistic regression: the 0-255 pixel values divided by ``divisor``. ``label``: how the
    report names it; ``short``: the short form (beside another variant's label, ``logistic loss (raw)``)."""

    name: str
    label: str
    short: str
    divisor: float


@dataclass(frozen=True)
class Metric:
    """A per-run number, a fraction shown as a percentage (a difference in percentage points), that the records of
    ``experiments`` (keys of :data:`EXPERIMENTS`) carry under ``name``: the field of the evaluation that computes it,
    and the runs table's column of that name. Declared here, it is copied into the runs table, summarised per variant
    and quoted in the facts, the captions' per-variant lists and the results page (mnistrepro.outputs.aggregate,
    mnistrepro.report) with no other edit.

    ``label``: how a list of a variant's numbers names it (``top-2 accuracy 99.60%``); ``short``: in a difference
    (``+0.02 points in ECE``) and a table's heading; ``better``: how a verdict says that one variant is better;
    ``higher_is_better``: which way that is.

    ``fact``: the per-variant summary: the summary table's column ``mean_{name}`` and the fact
    ``{variant}_{fact}`` (``lenet_sparse_ece``); "" for test accuracy, the summary's own ``mean``, its interval and
    range (``lenet_sparse_mean``). ``seed_interval``: also its mean's 95% interval over seeds, the summary's columns
    ``{name}_ci95_low``, ``{name}_ci95_high``, ``{name}_ci_method`` and the fact ``{variant}_{fact}_ci``.
    ``test_set_facts``: the per-variant facts that quote it over test images (mnistrepro.report.lenet_test_set), as
    (what they hold, fact key after the variant's): the results page shows them in its columns instead of the mean
    over seeds."""

    name: str
    label: str
    short: str
    better: str
    higher_is_better: bool
    experiments: tuple[str, ...]
    fact: str = ""
    seed_interval: bool = False
    test_set_facts: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        unknown = [e for e in self.experiments if e not in EXPERIMENTS]
        if not self.experiments or unknown:
            raise ValueError(f"metric {self.name!r}: experiments {list(self.experiments)}; expected some of "
                             f"{list(EXPERIMENTS)}")


LOSS_VARIANTS: dict[str, LossVariant] = {v.name: v for v in (
    # MSE on the sigmoid (SPEC.md's two-class squared error).
    LossVariant("mse", label="MSE loss", short="MSE"),
    # The logistic (cross-entropy) loss.
    LossVariant("ce", label="logistic loss", short="logistic"),
)}
C3_VARIANTS: dict[str, C3Variant] = {v.name: v for v in (
    # LeCun et al. 1998, Table I: 60 of the 96 connections.
    C3Variant("sparse", label="sparse C3", connections=60),
    # Every output map reads every input map.
    C3Variant("full", label="full C3", connections=C3_IN_MAPS * C3_OUT_MAPS),
)}
# The exploratory scale grid (config `scale_grid`) divides by other numbers the same way.
SCALING_VARIANTS: dict[str, ScalingVariant] = {v.name: v for v in (
    ScalingVariant("raw", label="raw pixels", short="raw", divisor=1.0),
    ScalingVariant("unit", label="unit pixels", short="unit", divisor=255.0),
)}
# Logistic-regression losses (mnistrepro.experiments.logreg).
LOSSES: tuple[str, ...] = tuple(LOSS_VARIANTS)
# LeNet-5's C3 layer (mnistrepro.experiments.lenet).
C3_KINDS: tuple[str, ...] = tuple(C3_VARIANTS)
# Pixel scalings of logistic regression (mnistrepro.experiments.logreg).
SCALINGS: tuple[str, ...] = tuple(SCALING_VARIANTS)
# Where the MNIST IDX files may come from (mnistrepro.data.acquisition.acquire_mnist), tried in the config's order.
SOURCES: tuple[str, ...] = ("official", "pypi", "local")
# The config's `device` (mnistrepro.study.device.resolve_device).
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")

# The study's experiments, by the one name every record (`experiment`), table, hardware.csv and result
# directory uses, with how the report names them.
EXPERIMENTS: dict[str, str] = {
    "logreg": "logistic regression",  # the main grid: loss x scaling x seed on one digit pair
    "pair_sweep": "logistic regression on every digit pair",
    "scale_grid": "logistic regression over pixel divisors (exploratory)",  # only its own table, scale_grid.csv
    "lenet": "LeNet-5",
}

# The metrics, in the order the runs table's columns and each variant's list name them.
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("test_accuracy", label="test accuracy", short="accuracy", better="is more accurate than",
           higher_is_better=True, experiments=tuple(EXPERIMENTS)),
    # mnistrepro.experiments.lenet_eval.evaluate computes LeNet-5's.
    Metric("top2_accuracy", label="top-2 accuracy", short="top-2", better="is more often right in its top two than",
           higher_is_better=True, experiments=("lenet",), fact="top2"),
    # 15 bins: mnistrepro.analysis.stats.ECE_BINS.
    Metric("ece", label="ECE", short="ECE", better="is better calibrated (lower ECE) than", higher_is_better=False,
           experiments=("lenet",), fact="ece", seed_interval=True,
           test_set_facts=(("15 equal-width bins", "ece_images"), ("15 equal-mass bins", "ece_equal_mass_images"))),
)}


def experiment_metrics(experiment: str) -> list[Metric]:
    """The metrics the records of ``experiment`` carry, in the registry's order."""
    return [m for m in METRICS.values() if experiment in m.experiments]


def variant_metrics() -> list[Metric]:
    """The metrics summarised per variant beside test accuracy (those with a ``fact``), in the registry's order."""
    return [m for m in METRICS.values() if m.fact]



def pixel_divisor(scaling: str | float) -> float:
    """The number the 0-255 pixel values are divided by: a scaling's (:data:`SCALING_VARIANTS`), or ``scaling``
    itself where it is a positive number (the scale grid's divisors)."""
    if isinstance(scaling, str):
        if scaling not in SCALING_VARIANTS:
            raise ValueError(f"scaling: expected one of {SCALINGS} or a positive divisor, got {scaling!r}")
        return SCALING_VARIANTS[scaling].divisor
    divisor = float(scaling)
    if not divisor > 0 or divisor == float("inf"):
        raise ValueError(f"pixel divisor: expected a positive finite number, got {scaling!r}")
    return divisor


def scaling_name(divisor: float) -> str:
    """How a record names the pixel scaling of ``divisor``: the scaling's name where one divides by it (``raw``,
    ``unit``), else ``divided by <divisor>``."""
    named = [name for name, v in SCALING_VARIANTS.items() if v.divisor == divisor]
    return named[0] if named else f"divided by {divisor:g}"


# The study's confirmatory families, one per claim of the seed: each holds the claim's primary test and the few
# secondary tests that answer the same question, at the final step count or epoch, with FWER 0.05 by Holm within it.
# Everything else (other step counts and epochs, calibration) is descriptive. Only the C3 family was fixed before its
# runs were analysed (its confirmatory seeds, 33-58, are new ones): the loss and hardest-pair runs were first analysed
# under one Holm family of every claim, and their per-claim families (and the hardest pair's intersection-union test)
# were chosen after those looks at the same deterministic runs (FAMILIES_FIXED_IN_ADVANCE). The report states this,
# and whether any verdict depends on the choice (comparisons.csv's ``same_verdict_any_family``).
FAMILIES: dict[str, str] = {
    "loss": "the loss claim (logistic regression on the main pair, last step count)",
    "hardest_pair": "the hardest-pair claim (the digit-pair sweep, its last step count)",
    "c3": "the C3 claim (LeNet-5, last epoch)",
}
# The families fixed before their runs were analysed; the others were chosen after earlier looks at the same runs.
FAMILIES_FIXED_IN_ADVANCE: frozenset[str] = frozenset({"c3"})
COMPARISON_KINDS = ("difference", "equivalence", "hardest")


@dataclass(frozen=True)
class ComparisonRule:
    """A kind of comparison the study makes, declared once for every variant the config runs.

    ``kind``: ``difference`` (paired difference of ``metric``, each other variant of ``factor`` minus the
    ``reference``), ``equivalence`` (TOST of the same difference within the config's margin) or ``hardest``
    (the config's main digit pair against every other pair of the sweep). ``fixed``: columns held at one value
    (the scaling comparison is of the MSE loss); ``across``: columns each value of which gets its own
    comparison (the loss comparison, per scaling). ``family``: the confirmatory family (:data:`FAMILIES`) of the
    comparison at the experiment's last step count or epoch ("": descriptive everywhere); ``primary``: the
    family's primary test, by its compared variant and ``across`` values (the first member where the config
    does not run it). ``name`` starts its fact keys, ``title`` names its rows of ``comparisons.csv``."""

    name: str
    title: str
    kind: str
    experiment: str
    factor: str
    reference: str | None = None
    metric: str = "test_accuracy"
    fixed: tuple[tuple[str, str], ...] = ()
    across: tuple[str, ...] = ()
    family: str = ""
    primary: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in COMPARISON_KINDS:
            raise ValueError(f"comparison {self.name!r}: kind {self.kind!r}; expected one of {COMPARISON_KINDS}")
        if self.family and self.family not in FAMILIES:
            raise ValueError(f"comparison {self.name!r}: family {self.family!r}; expected one of {list(FAMILIES)}")
        if self.metric not in METRICS:
            raise ValueError(f"comparison {self.name!r}: metric {self.metric!r}; expected one of {list(METRICS)}")
        if self.experiment not in METRICS[self.metric].experiments:
            raise ValueError(f"comparison {self.name!r}: {self.experiment!r} records no {self.metric!r} (its "
                             f"experiments: {list(METRICS[self.metric].experiments)})")


# In the order comparisons.csv lists them (LeNet-5's, then per step count logistic regression's, then the sweep's).
COMPARISONS: tuple[ComparisonRule, ...] = (
    ComparisonRule("c3", "C3 equivalence", "equivalence", "lenet", "c3", reference="full", family="c3",
                   primary=(("a", "sparse"),)),
    ComparisonRule("c3", "C3 connection table", "difference", "lenet", "c3", reference="full", family="c3"),
    ComparisonRule("c3", "C3 connection table", "difference", "lenet", "c3", reference="full", metric="ece"),
    ComparisonRule("loss", "loss", "difference", "logreg", "loss", reference="mse", across=("scaling",),
                   family="loss", primary=(("a", "ce"), ("scaling", "raw"))),
    ComparisonRule("scaling", "input scaling", "difference", "logreg", "scaling", reference="raw",
                   fixed=(("loss", "mse"),), family="loss"),
    ComparisonRule("hardest", "hardest pair", "hardest", "pair_sweep", "pair", family="hardest_pair"),
)
# Each factor's registered variants; the loss and C3 kinds also register an implementation (:func:`register`).
VARIANTS: dict[str, Mapping[str, Any]] = {"loss": LOSS_VARIANTS, "c3": C3_VARIANTS, "scaling": SCALING_VARIANTS}


def registered_variants() -> dict[str, list[str]]:
    """Every registered variant, per factor (``loss``, ``c3``, ``scaling``), in the registry's order."""
    return {factor: list(variants) for factor, variants in VARIANTS.items()}


def config_variants(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """The variants ``config`` runs, per factor, in the registry's order."""
    chosen = {"loss": config["logreg"]["losses"], "scaling": config["logreg"]["scalings"], "c3": config["lenet"]["c3"]}
    return {factor: [v for v in variants if v in chosen[factor]] for factor, variants in VARIANTS.items()}


def claim_pair(name: str) -> tuple[str, str]:
    """The two variants a claim's primary test compares, the compared one first and its reference second:
    ``("sparse", "full")`` for the C3 claim, ``("ce", "mse")`` for the loss claim. The exploratory analyses that
    follow one claim's question (the C3 difference at every epoch, the losses over pixel divisors) read it here."""
    rule = next(r for r in COMPARISONS if r.name == name and r.primary)
    return dict(rule.primary)["a"], str(rule.reference)


def variant_label(factor: str, name: str) -> str:
    """How the report names the ``factor`` variant ``name`` (the registry's label)."""
    return VARIANTS[factor][name].label


# The registered implementations, per variant family (:data:`VARIANTS`: the losses and C3 kinds have them).
_IMPLEMENTATIONS: dict[str, dict[str, Any]] = {}


def check_variant(family: str, name: str, key: str | None = None) -> None:
    """Raise ``ValueError`` naming the setting ``key`` (else the family) when ``name`` is not a registered
    ``family`` variant (:data:`VARIANTS`)."""
    if family not in VARIANTS:
        raise ValueError(f"variant family: expected one of {list(VARIANTS)}, got {family!r}")
    if name not in VARIANTS[family]:
        raise ValueError(f"{key or family}: unknown {family} {name!r}; expected one of {list(VARIANTS[family])}")


def register(family: str, name: str, impl: Any) -> Any:
    """Register the implementation of the ``family`` variant ``name`` (which this registry must name)."""
    check_variant(family, name)
    _IMPLEMENTATIONS.setdefault(family, {})[name] = impl
    return impl


def implementation(family: str, name: str) -> Any:
    """The registered implementation of the ``family`` variant ``name``; an unknown or unimplemented name is
    an error naming the ones there are."""
    check_variant(family, name)
    try:
        return _IMPLEMENTATIONS[family][name]
    except KeyError:
        raise ValueError(f"{family} {name!r} is in mnistrepro.study.choices but nothing registered its implementation "
                         f"(registered: {list(_IMPLEMENTATIONS.get(family, {}))})") from None

"""The study's variants and the values the config's settings choose from, each defined once.

No torch import: the Snakefile reads this at parse time (wildcard constraints, config check) and the
tests compare the config schema's enums with its lists.

The registry of variants: each logistic-regression loss (:data:`LOSS_VARIANTS`) and each LeNet-5 C3 kind
(:data:`C3_VARIANTS`) is named here with its label and what it costs in parameters. Its implementation is
registered by the module that owns it (:func:`register`; mnistrepro.logreg registers each loss's forms,
mnistrepro.lenet each C3 kind's builder) and looked up with :func:`implementation`: an unknown name is an
error there, never another variant's code. Adding a variant: one entry here, its implementation in its
module, and the name in the config schema's enum (tests/test_config.py checks the enum against these lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

# LeNet-5's C3 (mnistrepro.lenet): 6 input maps, 16 output maps, 5x5 kernels.
C3_IN_MAPS = 6
C3_OUT_MAPS = 16
C3_KERNEL = 5


@dataclass(frozen=True)
class LossVariant:
    """A logistic-regression loss of the logit ``z`` and label ``y`` in {-1, +1}.

    ``label``: how figures name it; ``short``: the short form (a strip's label); ``in_default_study``:
    whether the default config (the schema's default ``logreg.losses``) runs it.
    """

    name: str
    label: str
    short: str
    in_default_study: bool = True


@dataclass(frozen=True)
class C3Variant:
    """A LeNet-5 C3 layer, 6 -> 16 maps with 5x5 kernels, ``connections`` (input map, output map) pairs of
    which carry a kernel: its trainable parameters are ``connections * 25 + 16`` (one bias per output map)."""

    name: str
    label: str
    connections: int
    in_default_study: bool = True

    @property
    def params(self) -> int:
        """The analytic count of trainable parameters."""
        return self.connections * C3_KERNEL * C3_KERNEL + C3_OUT_MAPS


LOSS_VARIANTS: dict[str, LossVariant] = {v.name: v for v in (
    # MSE on the sigmoid (SPEC.md's two-class squared error).
    LossVariant("mse", label="MSE on sigmoid", short="MSE"),
    # The logistic (cross-entropy) loss.
    LossVariant("ce", label="logistic (CE)", short="logistic"),
)}
C3_VARIANTS: dict[str, C3Variant] = {v.name: v for v in (
    # LeCun et al. 1998, Table I: 60 of the 96 connections.
    C3Variant("sparse", label="sparse C3", connections=60),
    # Every output map reads every input map.
    C3Variant("full", label="full C3", connections=C3_IN_MAPS * C3_OUT_MAPS),
)}

# Logistic-regression losses (mnistrepro.logreg).
LOSSES: tuple[str, ...] = tuple(LOSS_VARIANTS)
# LeNet-5's C3 layer (mnistrepro.lenet).
C3_KINDS: tuple[str, ...] = tuple(C3_VARIANTS)
# Pixel scalings of logistic regression, each a divisor of the 0-255 pixel values: raw values (divided by 1), or
# divided by 255. The exploratory scale grid (config `scale_grid`) divides by other numbers the same way.
SCALING_DIVISORS: dict[str, float] = {"raw": 1.0, "unit": 255.0}
SCALINGS: tuple[str, ...] = tuple(SCALING_DIVISORS)
# Where the MNIST IDX files may come from (mnistrepro.acquisition.acquire_mnist), tried in the config's order.
SOURCES: tuple[str, ...] = ("official", "pypi", "local")
# The config's `device` (mnistrepro.device.resolve_device).
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")

# The study's experiments, by the one name every record (`experiment`), table, hardware.csv and result
# directory uses, with how the report names them.
EXPERIMENTS: dict[str, str] = {
    "logreg": "logistic regression",  # the main grid: loss x scaling x seed on one digit pair
    "pair_sweep": "logistic regression on every digit pair",
    "scale_grid": "logistic regression over pixel divisors (exploratory)",  # only its own table, scale_grid.csv
    "lenet": "LeNet-5",
}



def pixel_divisor(scaling: str | float) -> float:
    """The number the 0-255 pixel values are divided by: a scaling's (:data:`SCALING_DIVISORS`), or ``scaling``
    itself where it is a positive number (the scale grid's divisors)."""
    if isinstance(scaling, str):
        if scaling not in SCALING_DIVISORS:
            raise ValueError(f"scaling: expected one of {SCALINGS} or a positive divisor, got {scaling!r}")
        return SCALING_DIVISORS[scaling]
    divisor = float(scaling)
    if not divisor > 0 or divisor == float("inf"):
        raise ValueError(f"pixel divisor: expected a positive finite number, got {scaling!r}")
    return divisor


def scaling_name(divisor: float) -> str:
    """How a record names the pixel scaling of ``divisor``: the scaling's name where one divides by it (``raw``,
    ``unit``), else ``divided by <divisor>``."""
    named = [name for name, d in SCALING_DIVISORS.items() if d == divisor]
    return named[0] if named else f"divided by {divisor:g}"


# The variants the study's comparisons cover (mnistrepro.aggregate.study_comparisons: logistic vs MSE loss, sparse
# vs full C3). A registered loss or C3 kind outside them would be trained and then left out of every comparison
# and finding, so the config check refuses a configuration that trains one.
COMPARED: dict[str, tuple[str, ...]] = {"loss": ("mse", "ce"), "c3": ("sparse", "full")}

# The variant families: what a registered implementation is looked up under.
VARIANTS: dict[str, Mapping[str, Any]] = {"loss": LOSS_VARIANTS, "c3": C3_VARIANTS}
_IMPLEMENTATIONS: dict[str, dict[str, Any]] = {family: {} for family in VARIANTS}


def _known(family: str, name: str, key: str | None = None) -> None:
    if family not in VARIANTS:
        raise ValueError(f"variant family: expected one of {list(VARIANTS)}, got {family!r}")
    if name not in VARIANTS[family]:
        raise ValueError(f"{key or family}: unknown {family} {name!r}; expected one of {list(VARIANTS[family])}")


def check_variant(family: str, name: str, key: str) -> None:
    """Raise ``ValueError`` naming the setting ``key`` when ``name`` is not a registered ``family`` variant."""
    _known(family, name, key)


def register(family: str, name: str, impl: Any) -> Any:
    """Register the implementation of the ``family`` variant ``name`` (which this registry must name)."""
    _known(family, name)
    _IMPLEMENTATIONS[family][name] = impl
    return impl


def implementation(family: str, name: str) -> Any:
    """The registered implementation of the ``family`` variant ``name``; an unknown or unimplemented name is
    an error naming the ones there are."""
    _known(family, name)
    try:
        return _IMPLEMENTATIONS[family][name]
    except KeyError:
        raise ValueError(f"{family} {name!r} is in mnistrepro.choices but nothing registered its implementation "
                         f"(registered: {list(_IMPLEMENTATIONS[family])})") from None

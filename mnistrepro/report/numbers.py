"""The one set of number formatters of the report: every percentage, signed difference, interval, p-value,
digit pair, step or epoch count and duration that a sentence, a caption, a figure or the console shows is
written here.

Fractions in, text out: a table holds accuracies and differences as fractions; a percentage or a difference in
percentage points is 100 times the fraction.
"""

from __future__ import annotations

import math
from typing import Sequence

from mnistrepro.analysis.definitions import P_PRINT_CEILING, P_PRINT_FLOOR

__all__ = ["MISSING", "percent", "points", "signed_points", "points_interval", "interval_text", "format_p", "pair_label",
           "steps_label", "epochs_label", "count_label", "format_duration", "is_missing"]

# How a number that is not there (NaN, None) reads.
MISSING = "n/a"


def is_missing(x) -> bool:
    """None or NaN."""
    return x is None or (isinstance(x, float) and math.isnan(x))


def percent(x: float | None, digits: int = 2) -> str:
    """A fraction as a percentage: ``98.69%`` (``digits`` decimals); ``n/a`` for None or NaN."""
    return MISSING if is_missing(x) else f"{100 * x:.{digits}f}%"


def points(x: float, digits: int = 2) -> str:
    """A fraction in percentage points, without the unit or a sign: ``0.45`` (a spread, such as an SD)."""
    return f"{100 * x:.{digits}f}"


def signed_points(x: float, digits: int = 2) -> str:
    """A difference of fractions in percentage points, signed, without the unit: ``+0.12``, ``-1.50``."""
    return f"{100 * x:+.{digits}f}"


def points_interval(low: float, high: float) -> str:
    """An interval of a difference: ``+0.10 to +0.30 percentage points``."""
    return f"{signed_points(low)} to {signed_points(high)} percentage points"


def interval_text(low: float, high: float, method: str, n: int) -> str:
    """An interval of a mean: ``98.20% to 99.00%``, with its method and n where it is not a percentile bootstrap
    (``98.20% to 99.00%; Student t, n = 8``; the method's parenthesis, such as ``(n < 30)``, left out)."""
    text = f"{percent(low)} to {percent(high)}"
    return text if method.startswith("percentile bootstrap") else f"{text}; {method.split(' (')[0]}, n = {n}"


def format_p(p: float, bound: bool = False) -> str:
    """``p = 0.031``; ``p ≤ 0.0002`` for a bound (the true p is at most the value); ``p < 1e-10`` below
    mnistrepro.analysis.definitions.P_PRINT_FLOOR (a t tail more precise than the method: the reason is at the constant);
    ``p > 0.99`` above mnistrepro.analysis.definitions.P_PRINT_CEILING and below 1 (never rounded up to 1); ``p = n/a`` for
    NaN."""
    if math.isnan(p):
        return f"p = {MISSING}"
    if p < P_PRINT_FLOOR:
        return f"p < {P_PRINT_FLOOR:.0e}"
    if P_PRINT_CEILING < p < 1 and not bound:
        return f"p > {P_PRINT_CEILING:g}"
    return f"p {'≤' if bound else '='} {p:.2g}"


def pair_label(pair: str | Sequence[int]) -> str:
    """A digit pair as the report names it: ``4 vs 9``, from ``"4-9"`` (a table's pair column) or ``(4, 9)``
    (the config's)."""
    digits = pair.split("-") if isinstance(pair, str) else pair
    return " vs ".join(str(d) for d in digits)


def count_label(n: int, noun: str, plural: str | None = None) -> str:
    """A count and its noun: ``200 seeds``, ``1 seed``, ``9,999 resamples`` (``plural``: where adding an s is
    wrong)."""
    return f"{n:,} " + (noun if n == 1 else plural or f"{noun}s")


def steps_label(steps: int) -> str:
    """``1,000 steps`` (``1 step``)."""
    return count_label(steps, "step")


def epochs_label(epochs: int) -> str:
    """``10 epochs`` (``1 epoch``)."""
    return f"{epochs} epoch" + ("" if epochs == 1 else "s")


def format_duration(seconds: float) -> str:
    """``42 s``, ``7 min``, ``1 h 05 min``: as precise as an estimate deserves."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"

"""The exploratory pixel-scale grid in words (mnistrepro.analysis.scale_grid's table): each loss's escape rate per
divisor, where MSE's escape rate crosses one half, and whether the logistic loss is ever less accurate than MSE (their
paired difference per divisor: the two losses share their seeds). The facts describe the intervals; they test
nothing."""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from mnistrepro.report.numbers import percent, signed_points
from mnistrepro.study.choices import LOSS_VARIANTS, claim_pair

__all__ = ["scale_grid_facts", "divisor_list"]


def _divisor(d: float) -> str:
    return f"{d:g}"


def divisor_list(divisors: Sequence[float]) -> str:
    """``1, 4 and 16`` (``4``; ``1 and 4``)."""
    names = [_divisor(d) for d in divisors]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _divisors_phrase(divisors: Sequence[float]) -> str:
    """``divisor 4`` or ``divisors 4 and 16``."""
    return ("divisor " if len(divisors) == 1 else "divisors ") + divisor_list(divisors)


def _escape_rate(row) -> str:
    return (f"{percent(row.escape_rate)}, {row.escaped} of {row.n}, Wilson 95% CI {percent(row.escape_ci95_low)} to "
            f"{percent(row.escape_ci95_high)}")


def _rates(rows: pd.DataFrame) -> str:
    """A loss's escape rate at each divisor: ``21.50% at 1, 97.00% at 4``."""
    return ", ".join(f"{percent(r.escape_rate)} at {_divisor(r.divisor)}" for r in rows.itertuples(index=False))


def _names() -> tuple[str, str, str]:
    """The loss claim's compared loss (its label and short name) and its reference loss (short name)."""
    compared, reference = claim_pair("loss")
    return LOSS_VARIANTS[compared].label, LOSS_VARIANTS[compared].short, LOSS_VARIANTS[reference].short


def _side_of_half(rate: float) -> int:
    """1 above one half, -1 below, 0 at it."""
    return int(float(rate) > 0.5) - int(float(rate) < 0.5)


def _escape_verdict(mse: pd.DataFrame) -> str:
    """Where the reference loss's escape rate crosses one half, going up the divisors (``mse``: its rows, sorted by
    divisor).

    A crossing is a change of side of one half between two divisors next to each other once divisors at exactly
    one half are set aside (those are named). It is a description of the grid's rates, not a test."""
    ref = _names()[2]
    rows = list(mse.itertuples(index=False))
    side = [_side_of_half(r.escape_rate) for r in rows]
    at_half = [r.divisor for r, s in zip(rows, side) if s == 0]
    half_note = f"; exactly one half at {_divisors_phrase(at_half)}" if at_half else ""
    if len(rows) == 1:
        (row,) = rows
        where = {1: "above", -1: "below", 0: "exactly"}[side[0]]
        return (f"with one divisor ({_divisor(row.divisor)}) the grid cannot place a crossing of one half: {ref}'s "
                f"escape rate there is {_escape_rate(row)}, {where} one half")
    sided = [(r, s) for r, s in zip(rows, side) if s != 0]
    crossings = [(a, b, "rising" if sb > 0 else "falling")
                 for (a, sa), (b, sb) in zip(sided, sided[1:]) if sa != sb]
    span = f"{_divisor(rows[0].divisor)} to {_divisor(rows[-1].divisor)}"
    if not sided:
        return f"{ref}'s escape rate is exactly one half at every divisor of the grid ({span})"
    if not crossings:
        where = "above" if sided[0][1] > 0 else "below"
        extreme = min(rows, key=lambda r: r.escape_rate) if where == "above" else max(rows, key=lambda r: r.escape_rate)
        return (f"{ref}'s escape rate is {where} one half at every divisor of the grid ({span}; "
                f"{'lowest' if where == 'above' else 'highest'} {percent(extreme.escape_rate)} at "
                f"{_divisor(extreme.divisor)}){half_note}: it does not cross one half within the grid")
    if len(crossings) == 1:
        (a, b, direction), = crossings
        return (f"{ref}'s escape rate crosses one half once, {direction} with the divisor, between divisors "
                f"{_divisor(a.divisor)} ({_escape_rate(a)}) and {_divisor(b.divisor)} ({_escape_rate(b)})"
                f"{half_note}")
    parts = ", ".join(f"{direction} between {_divisor(a.divisor)} and {_divisor(b.divisor)}"
                      for a, b, direction in crossings)
    return (f"{ref}'s escape rate crosses one half {len(crossings)} times, so it is not monotone in the divisor: "
            f"{parts}{half_note}")


def _loss_verdict(ce: pd.DataFrame, mse: pd.DataFrame) -> str:
    """Whether the loss claim's compared loss is ever less accurate than its reference, divisor by divisor, by their
    paired difference in test accuracy (the two losses share their seeds, so their intervals are not compared side
    by side): less or more accurate where the paired difference's 95% interval excludes 0, else the interval
    includes 0 (described, not tested)."""
    cmp_label, cmp, ref = _names()
    both = ce.merge(mse, on="divisor", suffixes=("_ce", "_mse")).sort_values("divisor")
    groups: dict[str, list] = {"less": [], "more": [], "includes": []}
    for r in both.itertuples(index=False):
        if r.difference_ci95_high_ce < 0:
            groups["less"].append(r)
        elif r.difference_ci95_low_ce > 0:
            groups["more"].append(r)
        else:  # the interval includes 0, or there is none (fewer than two pairs)
            groups["includes"].append(r)

    def at(rows: list) -> str:
        named = [f"{_divisor(r.divisor)} ({signed_points(r.difference_ce)} points, 95% CI "
                 f"{signed_points(r.difference_ci95_low_ce)} to {signed_points(r.difference_ci95_high_ce)}; "
                 f"{percent(r.mean_accuracy_ce)} vs {percent(r.mean_accuracy_mse)})" for r in rows]
        return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"

    n = int(both["n_pairs_ce"].min()) if not both.empty else 0
    paired = f"{cmp} - {ref}, paired by seed, {n} pairs per divisor"
    if groups["less"]:
        head = (f"the {cmp_label} is less accurate than {ref}, by a paired difference whose 95% interval excludes 0, "
                f"at {'divisor' if len(groups['less']) == 1 else 'divisors'} {at(groups['less'])} ({paired})")
    else:
        head = (f"the {cmp_label} is never less accurate than {ref} by a paired difference whose 95% interval "
                f"excludes 0 ({paired})")
    rest = []
    if groups["more"]:
        rest.append(f"more accurate at {at(groups['more'])}" if groups["less"] else
                    f"more accurate at {'divisor' if len(groups['more']) == 1 else 'divisors'} {at(groups['more'])}")
    if groups["includes"]:
        rest.append(f"the paired interval includes 0 at {at(groups['includes'])}")
    return head + ("; " + "; ".join(rest) if rest else "")


def scale_grid_facts(table: pd.DataFrame) -> dict[str, str]:
    """The scale grid's facts, from :func:`scale_grid_table`'s table (any grid, one divisor or many):

    - ``scale_grid_divisors``: the divisors (``1, 4, 16, 64 and 255``);
    - ``scale_grid_{loss}_rates``: each loss's escape rate per divisor;
    - ``scale_grid_escape_verdict`` (needs MSE): where MSE's escape rate crosses one half, between which divisors,
      or that it does not within the grid;
    - ``scale_grid_loss_verdict`` (needs both losses): whether the logistic loss is ever less accurate than MSE,
      by their paired difference per divisor and its 95% interval (described, not tested);
    - ``scale_grid_verdict`` (needs both): the two, in one sentence.
    """
    table = table.sort_values(["loss", "divisor"])
    facts = {"scale_grid_divisors": divisor_list(sorted(table["divisor"].unique()))}
    by_loss = {loss: rows.sort_values("divisor") for loss, rows in table.groupby("loss", sort=True)}
    for loss, rows in by_loss.items():
        facts[f"scale_grid_{loss}_rates"] = _rates(rows)
    compared, reference = claim_pair("loss")
    if reference in by_loss:
        facts["scale_grid_escape_verdict"] = _escape_verdict(by_loss[reference])
    if {compared, reference} <= set(by_loss):
        facts["scale_grid_loss_verdict"] = _loss_verdict(by_loss[compared], by_loss[reference])
        facts["scale_grid_verdict"] = f"{facts['scale_grid_escape_verdict']}; {facts['scale_grid_loss_verdict']}"
    return facts

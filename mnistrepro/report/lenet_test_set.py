"""LeNet-5's test-set uncertainty in words: the facts of mnistrepro.analysis.stats.lenet_test_set's table."""

from __future__ import annotations

import pandas as pd

from mnistrepro.analysis.definitions import ACCURACY_DIFFERENCE, DISCORDANT_QUANTITY
from mnistrepro.report.numbers import percent, points, points_interval, signed_points

__all__ = ["lenet_test_set_facts"]


def lenet_test_set_facts(table: pd.DataFrame) -> dict[str, str]:
    """``lenet_{c3}_ece_images`` and ``lenet_{c3}_ece_equal_mass_images``: each variant's mean ECE with its
    bootstrap SD and bias over test images; ``lenet_test_set``: the C3 claim's difference over test images and the
    counts of discordant images, descriptive (no p-value: seeds x images are not independent draws). A row the table
    lacks gives no fact."""
    facts: dict[str, str] = {}
    rows = list(table.itertuples(index=False))
    for row in rows:
        for binning, key in (("equal-width", "ece"), ("equal-mass", "ece_equal_mass")):
            # The quantity names its binning (mnistrepro.analysis.stats.ece_quantity).
            if row.quantity.startswith("ECE, ") and row.quantity.endswith(f" {binning} bins"):
                facts[f"lenet_{row.c3}_{key}_images"] = (
                    f"{percent(row.value)} (over test images: SD {points(row.boot_sd)} points, resampling bias "
                    f"{signed_points(row.boot_bias)} points)")
    difference = next((r for r in rows if r.quantity.startswith(f"{ACCURACY_DIFFERENCE}, ")), None)
    discordant = next((r for r in rows if r.quantity == DISCORDANT_QUANTITY), None)
    if difference is not None and discordant is not None:
        a, b = difference.c3.split(" - ")
        right_a, right_b = int(discordant.ci95_low), int(discordant.ci95_high)
        facts["lenet_test_set"] = (
            f"over test images (seeds fixed) the {a} - {b} difference of {signed_points(difference.value)} points "
            f"has a 95% interval of {points_interval(difference.ci95_low, difference.ci95_high)}; pooled over "
            f"{int(discordant.n_seeds)} seeds, {right_a} images are right with {a} and wrong with {b}, "
            f"{right_b} the reverse (descriptive counts, no test: pooled seeds x images are not independent draws)")
    return facts

"""Generator seeds derived from a run's seed and a purpose, so that each random stream is independent of the others
and of what ran before it (no torch import)."""

from __future__ import annotations

import hashlib
from typing import Sequence


def mix_seed(*parts: int | str) -> int:
    """A 63-bit generator seed from a tuple of integers/strings (stable across runs and platforms)."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def seed_list(seeds: int | Sequence[int]) -> list[int]:
    """A config's ``seeds``: a count ``n`` means seeds ``0 .. n-1``; a list is kept as it is."""
    return list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]


def seed_groups(seeds: Sequence[int], per_group: int) -> list[list[int]]:
    """``seeds`` in consecutive groups of ``per_group`` (the last may be smaller), in the given order."""
    if per_group < 1:
        raise ValueError(f"per_group: expected at least 1, got {per_group}")
    seeds = list(seeds)
    return [seeds[i:i + per_group] for i in range(0, len(seeds), per_group)]


def group_label(seeds: Sequence[int]) -> str:
    """A group's name in paths: its seeds joined by ``_``, runs of consecutive seeds as ``first-last``
    (``[0, 1, 2, 3]`` -> ``"0-3"``, ``[2, 5]`` -> ``"2_5"``, ``[7]`` -> ``"7"``); :func:`parse_group_label` inverts it."""
    parts, seeds = [], list(seeds)
    i = 0
    while i < len(seeds):
        j = i
        while j + 1 < len(seeds) and seeds[j + 1] == seeds[j] + 1:
            j += 1
        parts.append(str(seeds[i]) if j - i < 2 else f"{seeds[i]}-{seeds[j]}")
        if j - i == 1:
            parts.append(str(seeds[j]))
        i = j + 1
    return "_".join(parts)


def parse_group_label(label: str) -> list[int]:
    """The seeds of a :func:`group_label`."""
    seeds: list[int] = []
    for part in label.split("_"):
        first, _, last = part.partition("-")
        seeds += range(int(first), int(last or first) + 1)
    return seeds

"""The data summary's words (rule data_summary, results/tables/data.csv): the source that served MNIST, the verified
checksums and the image counts, each with its label (scripts/data_summary.py reads the files and counts)."""

from __future__ import annotations

from typing import Mapping, Sequence

__all__ = ["data_summary_rows"]


def data_summary_rows(source: str, md5: Mapping[str, str], train_images: int, test_images: int,
                      digits: Sequence[int], pair_counts: Mapping[str, int]) -> list[tuple[str, str | int]]:
    """The table's ``(item, value)`` rows: ``source``, the source that served the files; ``md5``, each file's
    verified checksum; the full set's image counts; and, for the pair ``digits`` (labelled -1 and +1), its images
    per split and class (``pair_counts``: mnistrepro.data.tensors.pair_counts)."""
    neg, pos = digits
    rows: list[tuple[str, str | int]] = [("source that served", source)]
    rows += [(f"MD5 {name} (verified)", checksum) for name, checksum in md5.items()]
    rows += [("training images", train_images), ("test images", test_images)]
    for split in ("train", "test"):
        rows.append((f"{neg} vs {pos} {split} images ({neg} -> -1 + {pos} -> +1)",
                     f"{pair_counts[split]} ({pair_counts[f'{split}_-1']} + {pair_counts[f'{split}_+1']})"))
    return rows

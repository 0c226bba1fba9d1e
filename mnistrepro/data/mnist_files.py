"""The four official MNIST IDX files and their checksums (no torch import: the Snakefile reads this)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class IdxFile:
    name: str
    md5: str  # of the uncompressed file
    size: int  # bytes, uncompressed


TRAIN_IMAGES = IdxFile("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb", 47_040_016)
TRAIN_LABELS = IdxFile("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624", 60_008)
TEST_IMAGES = IdxFile("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea", 7_840_016)
TEST_LABELS = IdxFile("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637", 10_008)
IDX_FILES: tuple[IdxFile, ...] = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

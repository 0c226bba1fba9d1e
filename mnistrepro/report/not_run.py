"""The parts of the study a configuration left out, in words: how the facts file (its ``not_run``) and the report
name each part that mnistrepro.analysis.facts.left_out_parts finds, with the setting that left it out."""

from __future__ import annotations

from typing import Callable, Mapping

from mnistrepro.analysis.facts import LeftOut

__all__ = ["left_out_words", "not_run_parts"]

# Each kind of part (LeftOut.part) -> its words, from the part's names.
_WORDS: dict[str, Callable[..., str]] = {
    "loss": lambda loss: f"logistic regression with the {loss} loss (not in logreg.losses)",
    "scaling": lambda scaling: f"logistic regression on {scaling} pixels (not in logreg.scalings)",
    "comparison": lambda title, label_a, label_b: (f"the {title} comparison of {label_a} with {label_b} (needs both "
                                                   f"in the config)"),
    "reference_run": lambda: ("the reference's single run (it ran 4 vs 9 only: MSE loss, raw pixels, 10,000 steps; "
                              "logistic loss, raw pixels, 1,000 steps)"),
    "scale_grid": lambda: "the exploratory pixel-scale grid (scale_grid.enabled is false)",
    "scale_grid_escape": lambda reference: (f"where the {reference} loss's escape rate crosses one half over the pixel "
                                            f"divisors (needs {reference} in logreg.losses)"),
    "scale_grid_losses": lambda compared, reference: (f"the losses' accuracy over the pixel divisors (needs {compared} "
                                                      f"and {reference} in logreg.losses)"),
    "loss_claim": lambda: "the loss claim (needs the reference loss and another in logreg.losses)",
    "pair_sweep": lambda: "the digit-pair sweep (pair_sweep.enabled is false)",
    "pair_models": lambda: "LeNet-5's pair ranking next to logistic regression's (exploratory; needs the sweep)",
    "main_pair_rank": lambda: "the main pair's rank in the sweep (the pair is not in pair_sweep.pairs)",
    "c3_kind": lambda kind: f"LeNet-5 with the {kind} C3 (not in lenet.c3)",
    "c3_claim": lambda: "the C3 claim (needs the reference C3 kind and another in lenet.c3)",
    "c3_per_epoch": lambda: ("the C3 difference per epoch (exploratory; needs the reference C3 kind and another in "
                             "lenet.c3)"),
}


def left_out_words(part: LeftOut) -> str:
    """How the facts and the report name ``part``: ``LeNet-5 with the sparse C3 (not in lenet.c3)``."""
    if part.part not in _WORDS:
        raise ValueError(f"no words for the left-out part {part!r}; expected one of {sorted(_WORDS)} (add its "
                         f"words to mnistrepro.report.not_run)")
    return _WORDS[part.part](*part.names)


def not_run_parts(left_out: Mapping[LeftOut, list[str]]) -> dict[str, list[str]]:
    """The facts file's ``not_run``: each part ``left_out`` holds (mnistrepro.analysis.facts.left_out_parts), in
    words, with the patterns of the fact keys it would have produced; parts worded alike share their patterns."""
    worded: dict[str, list[str]] = {}
    for part, patterns in left_out.items():
        worded.setdefault(left_out_words(part), []).extend(patterns)
    return worded

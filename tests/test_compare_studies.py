"""Two studies side by side (mnistrepro.outputs.compare_studies): rows are matched by their comparison key, metric and
step or epoch count, never by their display titles, and tables without keys are refused with what to do."""

from __future__ import annotations

import pandas as pd
import pytest

from mnistrepro.outputs.compare_studies import compare_studies


def _study(root, comparisons: list[dict]) -> None:
    tables = root / "tables"
    tables.mkdir(parents=True)
    pd.DataFrame(comparisons).to_csv(tables / "comparisons.csv", index=False)
    pd.DataFrame([{"experiment": "lenet", "c3": "sparse", "epochs": 1, "n": 3, "mean": 0.97}]).to_csv(
        tables / "summary.csv", index=False)


def _row(key: str, title: str, steps, difference: float) -> dict:
    return {"comparison": title, "key": key, "metric": "test_accuracy", "a": "logistic loss (raw)",
            "b": "MSE loss (raw)", "steps": steps, "epochs": None, "difference": difference, "ci95_low": None,
            "ci95_high": None, "p_holm": None, "significant": False}


def test_rows_are_matched_by_key_and_step_count_not_by_title(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    _study(first, [_row("loss_ce_vs_mse_raw_final", "loss", 1000, 0.10),
                   _row("loss_ce_vs_mse_raw_200", "loss", 200, 0.30)])
    # The same comparison under another display title, and a last step count that is another number.
    _study(second, [_row("loss_ce_vs_mse_raw_final", "loss (renamed)", 1000, 0.20),
                    _row("loss_ce_vs_mse_raw_final", "loss", 5000, 0.40)])
    text = compare_studies(first, second)
    lines = [line for line in text.splitlines() if line.startswith("| loss")]
    assert "| loss: logistic loss (raw) - MSE loss (raw), steps 1000 | +10.00 pp | +20.00 pp |" in lines, text
    assert "| loss: logistic loss (raw) - MSE loss (raw), steps 200 | +30.00 pp | - |" in lines, text
    assert "| loss: logistic loss (raw) - MSE loss (raw), steps 5000 | - | +40.00 pp |" in lines, text
    assert len(lines) == 3, text


def test_a_comparisons_table_without_keys_is_refused_with_what_to_do(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    _study(first, [_row("loss_ce_vs_mse_raw_final", "loss", 1000, 0.10)])
    _study(second, [{k: v for k, v in _row("loss_ce_vs_mse_raw_final", "loss", 1000, 0.1).items() if k != "key"}])
    with pytest.raises(SystemExit, match=r"second/tables/comparisons.csv has no column key.*forcerun aggregate"):
        compare_studies(first, second)

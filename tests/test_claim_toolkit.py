"""The claim toolkit's path from a Judgement to claims.csv and the checklist: fields, not prose."""

from __future__ import annotations

import math

from bnnrepro import stats
from bnnrepro.families.reporting import Claim, ClaimKind, not_run, result
from bnnrepro.report.build import claim_row, estimate_texts


def _claim(**kwargs) -> Claim:
    return Claim("planted", "A planted claim.", "Nobody 2026", "memorization", lambda context: [], **kwargs)


def test_claim_row_reads_numbers_and_reason_from_the_judgement():
    est = stats.mean_interval([0.01, 0.02, 0.03], unit="seeds")
    judgement = stats.judge(est, stats.below(0.05, "pct", source="config claims.memorize_train_error"))
    claim = _claim(kind=ClaimKind.SANITY, fidelity="1,000 images instead of 45,000")
    row = claim_row(claim, "memorization", result("fashion_mnist", judgement, "final train error"))
    assert row["verdict"] == "held" and row["threshold"] == "< 5%" and row["comparison"] == "below"
    assert row["threshold_high"] == 0.05 and row["threshold_low"] == -math.inf
    assert row["threshold_source"] == "config claims.memorize_train_error"
    assert row["reason"].startswith("95% interval") and row["detail"] == "final train error"
    assert row["kind"] == "sanity check" and row["fidelity"] == "1,000 images instead of 45,000"
    row = claim_row(_claim(), "memorization", not_run("x", "condition missing", stats.above(1.0, "ratio")))
    assert row["verdict"] == "not run" and row["estimate"] is None and row["kind"] == "published claim"


def test_legacy_detail_is_split_into_reason_and_detail():
    est = stats.mean_interval([0.01, 0.02, 0.03])
    verdict, reason = stats.verdict_below(est, 0.05)
    from bnnrepro.families.reporting import ClaimResult

    row = claim_row(_claim(), "m", ClaimResult("s", verdict, est, "< 5%", f"{reason}; what was compared"))
    assert row["detail"] == "what was compared" and row["reason"] == reason


def test_displayed_estimate_lies_in_its_displayed_interval():
    assert estimate_texts(0.9955, 0.993, 0.998, "ratio") == ("1.00x", "[0.99, 1.00]x")
    assert estimate_texts(0.03840, 0.03838, 0.03842, "ratio") == ("0.03840x", "[0.03838, 0.03842]x")
    assert estimate_texts(0.215, 0.148, 0.282, "pp") == ("+21.5 pp", "[14.8, 28.2] pp")
    assert estimate_texts(0.05, 0.03, 0.07, "pct") == ("5.0%", "[3.0, 7.0]%")
    assert estimate_texts(None, None, None, "pct") == ("", "")

"""Console rendering of an ABIS :class:`~ektp.abis.evaluate.EvaluationReport` (what the CLI shows)."""

from __future__ import annotations

import math
from typing import Any

from ektp.abis.evaluate import EvaluationReport


def _pct(value: float | None) -> str:
    return (
        "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.3g} %"
    )


def print_report(report: EvaluationReport, console: Any | None = None) -> None:
    """Print the report as Rich tables (what the CLI shows)."""
    from rich.console import Console
    from rich.table import Table

    con: Console = console or Console()
    t = Table(title=f"ABIS evaluation — {report.source}", show_lines=False)
    t.add_column("figure")
    t.add_column("value", overflow="fold")
    th = report.thresholds
    rows: list[tuple[str, str]] = [
        ("gallery size N (enrolled)", f"{report.gallery_size:,} of {report.enrolment_attempts:,} attempts"),
        ("searches", f"{report.mated_searches:,} mated, {report.nonmated_searches:,} non-mated"),
        ("modalities", ", ".join(report.modalities)),
        ("target FPIR at N", f"{report.target_fpir:g}"),
        (
            "thresholds (fused LLR)",
            f"duplicate {th['duplicate']:.2f} (FMR {th['fmr_duplicate']:.2g}), "
            f"adjudicate {th['adjudicate']:.2f} (FMR {th['fmr_adjudicate']:.2g})",
        ),
        ("thresholds from", report.threshold_source),
        ("FNIR, ADJUDICATE counted as found", report.fnir_adjudicate_found.text()),
        ("FNIR, ADJUDICATE counted as missed", report.fnir_adjudicate_missed.text()),
        ("FPIR, ADJUDICATE counted (any candidate shown)", report.fpir_adjudicate_counted.text()),
        ("FPIR, DUPLICATE only", report.fpir_duplicate_only.text()),
        (
            "CMC rank 1 / 5 / 10",
            " / ".join(_pct(report.cmc[r - 1]) if len(report.cmc) >= r else "n/a" for r in (1, 5, 10)),
        ),
        ("failure to enrol (gallery)", report.fte.text()),
        ("failure to acquire (probes, searched anyway)", report.probe_fta.text()),
    ]
    for m, fig in report.per_modality.items():
        levels = ", ".join(f"FNMR@FMR {k}: {_pct(v)}" for k, v in fig.fnmr_at_fmr.items())
        rows.append(
            (f"{m} 1:1 ({fig.genuine:,} gen / {fig.impostor:,} imp)", f"{levels}; EER {_pct(fig.eer)}")
        )
    tp = report.throughput
    rows += [
        (
            "throughput",
            f"finger {tp['finger_comparisons_per_s']:,.0f}/s, iris {tp['iris_comparisons_per_s']:,.0f}/s, "
            f"face {tp['face_comparisons_per_s']:,.0f}/s; {tp['recordings_per_s']:.3g} recordings/s "
            f"({tp['threads']} thread(s) of {tp['cores']} cores, batch {tp['batch_size']})",
        ),
        ("gallery memory", f"{tp['gallery_bytes_per_person']:,.0f} B/person"),
    ]
    if report.prefilter is not None:
        pf = report.prefilter
        rows.append(
            (
                "pre-filter",
                f"{pf['fingers']} finger(s) on all ({pf['fingers_with_iris_or_face']} when the probe has "
                f"iris/face) + iris/face, shortlist {pf['shortlist']} "
                f"(penetration {_pct(pf['penetration_rate'])}); mate shortlisted "
                f"{pf['mate_shortlisted']}/{pf['checked_mated_searches']} checked",
            )
        )
    ex = report.extrapolation
    rows += [
        (
            f"FPIR at N = {ex.gallery_size:,} (extrapolated)",
            f"{ex.fpir_at_operating_thresholds:.3g} at the duplicate threshold "
            f"(FMR {ex.fmr_at_duplicate_threshold:.2g} per comparison)",
        ),
        (
            f"thresholds for FPIR {report.target_fpir:g} at N = {ex.gallery_size:,}",
            f"duplicate {ex.thresholds_for_target['duplicate']:.2f}: FNIR there "
            f"{ex.fnir_at_those_thresholds.text()}",
        ),
        ("extrapolation assumes", "; ".join(ex.assumptions)),
    ]
    for k, v in rows:
        t.add_row(k, v)
    con.print(t)
    if report.hard_breakdown:
        h = Table(title="by capture kind (duplicate threshold)")
        for c in ("kind", "mated", "missed", "non-mated", "false positives"):
            h.add_column(c)
        for kind, row in sorted(report.hard_breakdown.items()):
            h.add_row(
                kind,
                str(row["mated"]),
                str(row["mated_missed"]),
                str(row["nonmated"]),
                str(row["nonmated_false"]),
            )
        con.print(h)
    if report.files:
        con.print("written: " + ", ".join(report.files.values()))

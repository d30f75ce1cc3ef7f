"""Command line of the linkage core: ``ektp linkage dedupe | train | generate``.

``dedupe`` reads a CSV of person records (columns: record_id (optional, else the row number),
nik, name, sex, birth_date (YYYY-MM-DD or DD-MM-YYYY), birth_place, mother_name, province_code,
regency_code, district_code, village_code, address; only the ``name`` header is required and any
value may be empty) and writes ``record_id,cluster_id`` with one row per input row.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from ektp.kit.errors import DomainError, ValidationFailed, invalid
from ektp.linkage.corrupt import RECORD_COLUMNS, TRUTH_COLUMNS, make_dataset
from ektp.linkage.dedupe import STAGES, dedupe_records
from ektp.linkage.model import INPUT_COLUMNS, REQUIRED_COLUMNS, save_model, train_model

app = typer.Typer(help="Demographic linkage: deduplicate person records (Splink).", no_args_is_help=True)
console = Console(stderr=True)


def read_records_csv(path: Path) -> list[dict[str, Any]]:
    """Rows of a records CSV; refuses a missing file, a missing ``name`` header and unknown
    headers, naming the rule."""
    if not path.is_file():
        raise invalid("records", "not_found", f"{path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        headers = [name.strip() for name in (reader.fieldnames or [])]
        missing = [column for column in REQUIRED_COLUMNS if column not in headers]
        if missing:
            raise invalid(
                missing[0], "required_header", f"{path}: the header row has no {missing[0]!r} column"
            )
        extra = [column for column in headers if column not in INPUT_COLUMNS and column not in TRUTH_COLUMNS]
        if extra:
            raise invalid(
                extra[0],
                "unknown_header",
                f"{path}: unknown column {extra[0]!r}; known: {', '.join(INPUT_COLUMNS)}",
            )
        rows: list[dict[str, Any]] = []
        for row in reader:
            rows.append({key.strip(): (value or "").strip() for key, value in row.items() if key is not None})
    return rows


def _fail(error: DomainError) -> None:
    console.print(f"[red]error:[/] {error.message if hasattr(error, 'message') else error}")
    if isinstance(error, ValidationFailed):
        for problem in error.problems[:10]:
            console.print(f"  {problem.field} ({problem.rule}): {problem.message}")
    raise typer.Exit(code=2)


@app.command("dedupe")
def dedupe_command(
    records: Annotated[Path, typer.Argument(help="CSV of person records")],
    out: Annotated[Path, typer.Option("--out", help="where to write record_id,cluster_id")],
    threshold: Annotated[float, typer.Option(help="match probability to link two records")] = 0.9,
    model: Annotated[
        Path | None, typer.Option(help="model JSON (ektp linkage train); default: packaged")
    ] = None,
    backend: Annotated[str, typer.Option(help="duckdb or spark")] = "duckdb",
) -> None:
    """Cluster the records of a CSV: one cluster id (the smallest record_id of its cluster) per row."""
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} stages"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("load", total=len(STAGES) + 1)
        names = iter([*STAGES[1:], "write"])

        def on_stage(_: str) -> None:
            progress.update(task, advance=1, description=next(names, "write"))

        try:
            rows = read_records_csv(records)
            result = dedupe_records(
                rows,
                model=str(model) if model else None,
                threshold=threshold,
                backend=backend,
                on_stage=on_stage,
            )
        except DomainError as error:
            _fail(error)
            return
        ids = [
            int(row["record_id"]) if row.get("record_id") else number
            for number, row in enumerate(rows, start=1)
        ]
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["record_id", "cluster_id"])
            for record_id in ids:
                writer.writerow([record_id, result.clusters[record_id]])
        progress.update(task, advance=1)
    duplicates = len(rows) - result.cluster_count
    console.print(
        f"{len(rows)} records → {result.cluster_count} clusters ({duplicates} duplicate records); "
        f"{result.pairs} pairs compared, {result.links} links ≥ {threshold}; written to {out}"
    )


@app.command("train")
def train_command(
    out: Annotated[Path, typer.Option("--out", help="model JSON to write")],
    records: Annotated[Path | None, typer.Option(help="CSV to train on (default: generated)")] = None,
    size: Annotated[int, typer.Option(help="persons to generate when no CSV is given")] = 20_000,
    seed: Annotated[int, typer.Option(help="generator seed")] = 11,
    labels: Annotated[bool, typer.Option(help="estimate m from true_person_id labels instead of EM")] = False,
) -> None:
    """Train the ektp model (u by random sampling, m by EM or from labels) and save it as JSON.
    The packaged default model is ``ektp linkage train --out src/ektp/linkage/default_model.json``."""
    try:
        rows = read_records_csv(records) if records else make_dataset(size, seed=seed).records
        model = train_model(rows, labels_column="true_person_id" if labels else None, seed=seed)
    except DomainError as error:
        _fail(error)
        return
    save_model(model, out)
    console.print(f"model trained on {len(rows)} records written to {out}")


@app.command("generate")
def generate_command(
    out: Annotated[Path, typer.Option("--out", help="CSV to write")],
    size: Annotated[int, typer.Option(help="persons")] = 1_000,
    duplicate_share: Annotated[float, typer.Option(help="corrupted duplicates per person")] = 0.25,
    seed: Annotated[int, typer.Option(help="generator seed")] = 0,
) -> None:
    """Write a synthetic records CSV with corrupted duplicates and the truth columns."""
    try:
        dataset = make_dataset(size, duplicate_share=duplicate_share, seed=seed)
    except DomainError as error:
        _fail(error)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*RECORD_COLUMNS, *TRUTH_COLUMNS])
        writer.writeheader()
        writer.writerows(dataset.records)
    console.print(f"{len(dataset.records)} records of {dataset.person_count} persons written to {out}")

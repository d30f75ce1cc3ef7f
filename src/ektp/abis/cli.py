"""Command line of the ABIS (mounted as ``ektp abis``): evaluation, calibration, synthetic data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ektp.cli.common import domain_errors_exit
from ektp.kit.errors import invalid

app = typer.Typer(help="Biometric engine: evaluation, calibration, synthetic data.", no_args_is_help=True)

console = Console()
err_console = Console(stderr=True)


def _fail(exc: Exception) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
    return typer.Exit(code=2)


@contextmanager
def _progress() -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """A Rich progress display; yields a factory ``(description, total) → advance(n)``."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    ) as bar:

        def factory(description: str, total: int) -> Callable[[int], None]:
            task = bar.add_task(description, total=max(total, 0))
            return lambda n: bar.advance(task, n)

        yield factory


def _modalities(text: str) -> tuple[str, ...]:
    from ektp.abis.engine import MODALITIES

    mods = tuple(m.strip().lower() for m in text.split(",") if m.strip())
    bad = [m for m in mods if m not in MODALITIES]
    if bad or not mods:
        raise invalid(
            "--modalities",
            "unknown",
            f"--modalities takes a comma list of {', '.join(MODALITIES)}; got {text!r}",
        )
    return mods


@app.command("evaluate")
@domain_errors_exit
def evaluate_command(
    gallery: int | None = typer.Option(None, "--gallery", help="Synthetic gallery size N."),
    mated: int = typer.Option(100, "--mated", help="Mated searches (synthetic)."),
    nonmated: int = typer.Option(100, "--nonmated", help="Non-mated searches (synthetic)."),
    seed: int = typer.Option(1, "--seed", help="Seed of the synthetic population."),
    gallery_dir: Path | None = typer.Option(
        None, "--gallery-dir", help="Directory of CBEFF XML files, one per person."
    ),
    probes_dir: Path | None = typer.Option(None, "--probes-dir", help="Directory of CBEFF XML probe files."),
    truth: Path | None = typer.Option(None, "--truth", help="CSV 'probe,mate' (mate empty for non-mated)."),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="Calibration JSON (default: fitted on a synthetic population)."
    ),
    calibration_n: int = typer.Option(1000, "--calibration-n", help="Persons for the fitted calibration."),
    out_dir: Path | None = typer.Option(None, "--out-dir", help="Write report.json and det.png here."),
    modalities: str = typer.Option(
        "finger,iris,face", "--modalities", help="Comma list of finger,iris,face."
    ),
    target_fpir: float = typer.Option(0.001, "--target-fpir", help="FPIR the duplicate threshold aims at."),
    top_k: int = typer.Option(10, "--top-k", help="Candidates returned per search (CMC ranks)."),
    hard_fraction: float = typer.Option(0.1, "--hard-fraction", help="Share of adversarial captures."),
    tail_fraction: float = typer.Option(
        0.01, "--tail-fraction", help="Impostor tail share fitted for thresholds."
    ),
    threads: int = typer.Option(1, "--threads", help="Threads for fingerprint matching."),
    prefilter_fingers: int = typer.Option(
        0, "--prefilter-fingers", help="Pre-filter: fingers scanned on all (0 = exhaustive)."
    ),
    prefilter_fingers_with_iris: int | None = typer.Option(
        None,
        "--prefilter-fingers-with-iris",
        help="Pre-filter: fingers scanned on all when the probe has iris/face.",
    ),
    prefilter_shortlist: int = typer.Option(
        200, "--prefilter-shortlist", help="Pre-filter: rows fully compared."
    ),
    prefilter_check: int = typer.Option(
        0, "--prefilter-check", help="Mated searches re-run exhaustively to measure the pre-filter."
    ),
) -> None:
    """Measure FNIR/FPIR (with 95 % CIs), DET, CMC, per-modality FNMR, FTE, throughput and the FPIR
    extrapolation to 190 M: on a synthetic gallery (--gallery N) or on CBEFF files
    (--gallery-dir/--probes-dir/--truth)."""
    from ektp.abis import evaluate as ev
    from ektp.abis.engine import Prefilter
    from ektp.abis.formats import FormatError
    from ektp.abis.fusion import load_calibration
    from ektp.abis.report import print_report

    try:
        mods = _modalities(modalities)
        cal = load_calibration(calibration) if calibration is not None else None
        pre = (
            Prefilter(prefilter_fingers, prefilter_shortlist, prefilter_fingers_with_iris)
            if prefilter_fingers > 0
            else None
        )
        dirs = (gallery_dir, probes_dir, truth)
        if any(d is not None for d in dirs):
            if gallery is not None:
                raise invalid(
                    "--gallery", "exclusive", "give either --gallery N or --gallery-dir/--probes-dir/--truth"
                )
            if any(d is None for d in dirs):
                raise invalid(
                    "--gallery-dir", "required", "--gallery-dir, --probes-dir and --truth go together"
                )
            assert gallery_dir is not None
            assert probes_dir is not None
            assert truth is not None
            with _progress() as prog:
                if cal is None:
                    cal = ev.fit_from_synth(
                        calibration_n, seed + 7919, modalities=mods, threads=threads, progress=prog
                    )
                report = ev.evaluate_dirs(
                    gallery_dir,
                    probes_dir,
                    truth,
                    cal,
                    modalities=mods,
                    target_fpir=target_fpir,
                    top_k=top_k,
                    tail_fraction=tail_fraction,
                    threads=threads,
                    out_dir=out_dir,
                    progress=prog,
                )
        else:
            if gallery is None:
                raise invalid(
                    "--gallery",
                    "required",
                    "give --gallery N (synthetic) or --gallery-dir/--probes-dir/--truth",
                )
            with _progress() as prog:
                report = ev.evaluate(
                    gallery,
                    mated,
                    nonmated,
                    seed,
                    modalities=mods,
                    target_fpir=target_fpir,
                    top_k=top_k,
                    tail_fraction=tail_fraction,
                    hard_fraction=hard_fraction,
                    calibration=cal,
                    calibration_n=calibration_n,
                    prefilter=pre,
                    prefilter_check=prefilter_check,
                    threads=threads,
                    out_dir=out_dir,
                    progress=prog,
                )
    except FormatError as exc:
        raise _fail(exc) from exc
    print_report(report, console)


@app.command("calibrate")
@domain_errors_exit
def calibrate_command(
    n: int = typer.Option(2000, "--n", help="Synthetic persons to fit on."),
    seed: int = typer.Option(1, "--seed"),
    out: Path = typer.Option(..., "--out", help="Calibration JSON to write."),
    probes: int | None = typer.Option(None, "--probes", help="Genuine probes (default: min(1000, n/2))."),
    impostors: int = typer.Option(40, "--impostors-per-probe", help="Impostor persons per probe."),
    threads: int = typer.Option(1, "--threads"),
) -> None:
    """Fit the score → LLR models with the real matchers on a synthetic population."""
    from ektp.abis.evaluate import fit_from_synth
    from ektp.abis.fusion import save_calibration

    try:
        with _progress() as prog:
            cal = fit_from_synth(
                n, seed, n_probes=probes, impostors_per_probe=impostors, threads=threads, progress=prog
            )
        save_calibration(cal, out)
    except OSError as exc:
        raise _fail(invalid("--out", "unwritable", f"{out}: {exc.strerror}")) from exc
    for m, model in sorted(cal.models.items()):
        counts = cal.fitted_on["counts"][m]
        console.print(
            f"{m}: transform {model.transform}, genuine N({model.genuine.mean:.3f}, {model.genuine.std:.3f}), "
            f"impostor N({model.impostor.mean:.3f}, {model.impostor.std:.3f}); "
            f"{counts['genuine']:,} genuine / {counts['impostor']:,} impostor scores"
        )
    console.print(f"calibration written to [bold]{escape(str(out))}[/]")


@app.command("synth-stats")
@domain_errors_exit
def synth_stats_command(
    n: int = typer.Option(2000, "--n", help="Persons to generate."),
    seed: int = typer.Option(1, "--seed"),
) -> None:
    """Figures of the synthetic population to compare with published real-data behaviour."""
    from ektp.abis.synth import print_statistics, synth_statistics

    try:
        stats = synth_statistics(n, seed)
    except ValueError as exc:
        raise _fail(exc) from exc
    print_statistics(stats, console)


@app.command("synth-export")
@domain_errors_exit
def synth_export_command(
    n: int = typer.Option(..., "--n", help="Gallery persons."),
    probes: int = typer.Option(..., "--probes", help="Probes (half mated unless --mated-fraction)."),
    out_dir: Path = typer.Option(..., "--out-dir", help="Writes gallery/, probes/ and truth.csv here."),
    seed: int = typer.Option(1, "--seed"),
    mated_fraction: float = typer.Option(0.5, "--mated-fraction"),
    hard_fraction: float = typer.Option(0.1, "--hard-fraction"),
) -> None:
    """Write a synthetic gallery and probes as CBEFF XML files with a truth CSV."""
    from ektp.abis.evaluate import export_synthetic

    try:
        with _progress() as prog:
            counts = export_synthetic(
                out_dir,
                n,
                probes,
                seed=seed,
                mated_fraction=mated_fraction,
                hard_fraction=hard_fraction,
                progress=prog,
            )
    except OSError as exc:
        raise _fail(invalid("--out-dir", "unwritable", f"{out_dir}: {exc.strerror}")) from exc
    console.print(
        f"wrote {counts['gallery']:,} gallery and {counts['probes']:,} probe files "
        f"({counts['mated']:,} mated) and truth.csv under [bold]{escape(str(out_dir))}[/]"
    )


# ------------------------------------------------------------------------------------------
# persistent gallery, shards and batch dedup (ektp.abis.gallery)
# ------------------------------------------------------------------------------------------

_ENCODER_HELP = "Stage-1 encoder as module:attr (default: ektp.abis.gallery.stage1)."


def _open_gallery(path: Path, encoder: str | None, *, create: bool, calibration: Path | None = None):  # type: ignore[no-untyped-def]
    from ektp.abis.fusion import load_calibration
    from ektp.abis.gallery.persistent import PersistentGallery
    from ektp.abis.gallery.shard_server import load_encoder

    cal = load_calibration(calibration) if calibration is not None else None
    return PersistentGallery.open(path, encoder=load_encoder(encoder), calibration=cal, create=create)


@app.command("gallery-load")
@domain_errors_exit
def gallery_load_command(
    gallery: Path = typer.Option(..., "--gallery", help="Persistent gallery directory (created if missing)."),
    from_dir: Path = typer.Option(
        ..., "--from", help="Directory of CBEFF XML files; reference id = file name."
    ),
    batch: int = typer.Option(500, "--batch", help="Persons per commit (one fsync round each)."),
    encoder: str | None = typer.Option(None, "--encoder", help=_ENCODER_HELP),
) -> None:
    """Enrol every CBEFF file of a directory into a persistent gallery."""
    import time

    from ektp.abis.gallery.batch import load_probes

    if batch < 1:
        raise invalid("--batch", "positive", f"--batch must be >= 1, got {batch}")
    items = load_probes(from_dir)
    t0 = time.perf_counter()
    with _open_gallery(gallery, encoder, create=True) as g:
        for start in range(0, len(items), batch):
            g.insert_many(items[start : start + batch])
        count = g.count()
    console.print(f"enrolled {len(items):,} in {time.perf_counter() - t0:.1f} s; gallery holds {count:,}")


@app.command("gallery-info")
@domain_errors_exit
def gallery_info_command(
    gallery: Path = typer.Option(..., "--gallery", help="Persistent gallery directory."),
) -> None:
    """Count, segments and bytes of a persistent gallery (read-only)."""
    from ektp.abis.gallery.persistent import PersistentGallery

    with PersistentGallery.open(gallery, readonly=True, create=False) as g:
        segs = g.manifest.segments
        console.print(
            f"{g.count():,} live of {g.open_stats.rows:,} records in {len(segs)} segment(s), "
            f"{sum(s.log_bytes for s in segs):,} bytes; stage-1 {g.code_bytes} B/person "
            f"({g.manifest.encoder}); index {g.open_stats.index} in {g.open_stats.seconds_index:.3f} s"
        )


@app.command("gallery-delete")
@domain_errors_exit
def gallery_delete_command(
    gallery: Path = typer.Option(..., "--gallery", help="Persistent gallery directory."),
    reference_id: str = typer.Argument(..., help="Reference id to tombstone."),
) -> None:
    """Delete (tombstone) one person."""
    from ektp.abis.gallery.persistent import PersistentGallery

    with PersistentGallery.open(gallery, create=False) as g:
        g.delete(reference_id)
        console.print(f"deleted {escape(reference_id)}; {g.count():,} remain")


@app.command("gallery-compact")
@domain_errors_exit
def gallery_compact_command(
    gallery: Path = typer.Option(..., "--gallery", help="Persistent gallery directory."),
) -> None:
    """Rewrite live records into one segment, dropping tombstoned ones (crash-safe)."""
    from ektp.abis.gallery.persistent import PersistentGallery

    with PersistentGallery.open(gallery, create=False) as g:
        stats = g.compact()
    console.print(
        f"compacted {int(stats['live']):,} live records in {stats['seconds']:.2f} s: "
        f"{int(stats['bytes_before']):,} → {int(stats['bytes_after']):,} bytes"
    )


@app.command("gallery-serve")
@domain_errors_exit
def gallery_serve_command(
    gallery: Path = typer.Option(..., "--gallery", help="This shard's gallery directory."),
    calibration: Path = typer.Option(..., "--calibration", help="Calibration JSON (same on every shard)."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8101, "--port"),
    encoder: str | None = typer.Option(None, "--encoder", help=_ENCODER_HELP),
    candidates: int | None = typer.Option(None, "--candidates", help="Default stage-1 shortlist K1."),
) -> None:
    """Serve one gallery shard over HTTP (see ektp.abis.gallery.shard_server)."""
    from ektp.abis.gallery.shard_server import serve

    serve(gallery, calibration=calibration, host=host, port=port, encoder=encoder, candidates=candidates)


@app.command("dedup-batch")
@domain_errors_exit
def dedup_batch_command(
    gallery: Path = typer.Option(..., "--gallery", help="Persistent gallery directory."),
    probes: Path = typer.Option(..., "--probes", help="Directory of CBEFF XML probe files."),
    out: Path = typer.Option(..., "--out", help="decisions.csv to write."),
    engine: str = typer.Option("inprocess", "--engine", help="inprocess or spark."),
    spark_master: str = typer.Option("local[2]", "--spark-master", help="Spark master URL."),
    calibration: Path | None = typer.Option(
        None, "--calibration", help="Calibration JSON (default: fitted on a synthetic population)."
    ),
    calibration_n: int = typer.Option(1000, "--calibration-n", help="Persons for the fitted calibration."),
    duplicate: float = typer.Option(40.0, "--duplicate-threshold", help="Fused score for DUPLICATE."),
    adjudicate: float = typer.Option(15.0, "--adjudicate-threshold", help="Fused score for ADJUDICATE."),
    top_k: int = typer.Option(10, "--top-k", help="Candidates kept per probe."),
    candidates: int = typer.Option(200, "--candidates", help="Stage-1 shortlist K1."),
    rows_per_partition: int = typer.Option(50_000, "--rows-per-partition", help="Spark: rows per task."),
    encoder: str | None = typer.Option(None, "--encoder", help=_ENCODER_HELP),
) -> None:
    """Deduplicate a day's probes against a persistent gallery; one decision per probe in CSV."""
    import time
    from collections import Counter

    from ektp.abis.decision import Thresholds
    from ektp.abis.fusion import load_calibration
    from ektp.abis.gallery import batch as b
    from ektp.abis.gallery.shard_server import load_encoder

    if engine not in b.ENGINES:
        raise invalid("--engine", "choice", f"--engine must be one of {', '.join(b.ENGINES)}, got {engine!r}")
    thresholds = Thresholds(duplicate=duplicate, adjudicate=adjudicate)
    items = b.load_probes(probes)
    if calibration is not None:
        cal = load_calibration(calibration)
    else:
        from ektp.abis.evaluate import fit_from_synth

        with _progress() as prog:
            cal = fit_from_synth(calibration_n, 7919, progress=prog)
    enc = load_encoder(encoder)
    t0 = time.perf_counter()
    if engine == "inprocess":
        from ektp.abis.gallery.persistent import PersistentGallery

        with PersistentGallery.open(gallery, encoder=enc, calibration=cal, readonly=True, create=False) as g:
            decisions = b.dedup_inprocess(g, items, thresholds, top_k=top_k, candidates=candidates)
    else:
        from ektp.abis.gallery.spark import search_spark

        prepared = b.prepare_probes(enc, items)
        merged = search_spark(
            gallery,
            prepared,
            cal,
            master=spark_master,
            candidates=candidates,
            top_k=top_k,
            rows_per_partition=rows_per_partition,
        )
        decisions = b.decide_all([pid for pid, _ in items], merged, thresholds)
    try:
        b.write_decisions(out, decisions)
    except OSError as exc:
        raise _fail(invalid("--out", "unwritable", f"{out}: {exc.strerror}")) from exc
    counts = Counter(d.decision.value for d in decisions)
    console.print(
        f"{len(decisions):,} probes in {time.perf_counter() - t0:.1f} s ({engine}): "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()))
        + f" → [bold]{escape(str(out))}[/]"
    )

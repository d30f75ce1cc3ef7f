"""``ektp dedup``: run a dedup worker, show the queue, retry FAILED jobs.

``ektp dedup work`` owns the gallery directory (one writer process per gallery: a second worker
process on the same machine must be given another ``EKTP_DEDUP_GALLERY_DIR`` — a shard — or run
as threads of the same process). SIGTERM / Ctrl-C end the current job and give the rest of the
batch back."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ektp.auth.permissions import SYSTEM
from ektp.cli.common import DatabaseOption, cli_engine, console, domain_errors_exit, settings_from_cli
from ektp.db.session import unit_of_work
from ektp.dedup import queue, service
from ektp.dedup.matcher import DedupMatcher, gallery_dir
from ektp.dedup.worker import BatchResult, Worker, new_worker_id
from ektp.kit.errors import invalid

NAME = "dedup"
app = typer.Typer(help="Dedup queue (penunggalan): workers, queue state, retries.", no_args_is_help=True)


@app.command("work")
@domain_errors_exit
def work(
    batch: int = typer.Option(50, "--batch", help="Jobs claimed at a time."),
    once: bool = typer.Option(False, "--once", help="Stop when no job is due instead of waiting."),
    worker_id: str = typer.Option("", "--worker-id", help="Name in claims and history (default: host:pid)."),
    max_seconds: float | None = typer.Option(None, "--max-seconds", help="Stop after this long."),
    no_demographic: bool = typer.Option(False, "--no-demographic", help="Skip the demographic check."),
    threads: int | None = typer.Option(
        None, "--threads", help="Recordings evaluated at once (default: EKTP_DEDUP_THREADS, 2)."
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Take due jobs in batches and decide them (ABIS 1:N + demographic check)."""
    if batch < 1 or batch > 10_000:
        raise invalid("--batch", "range", "--batch must be between 1 and 10000")
    if threads is not None and not 1 <= threads <= 16:
        raise invalid("--threads", "range", "--threads must be between 1 and 16")
    settings = settings_from_cli(database_url)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        console.print("stopping after the current recording…")
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    matcher = DedupMatcher.open(gallery_dir(settings), demographic=not no_demographic)
    try:
        with cli_engine(database_url) as engine:
            with unit_of_work(engine) as session:
                due = queue.due_count(session)
            worker = Worker.from_settings(
                settings,
                engine,
                matcher,
                batch=batch,
                worker_id=worker_id or new_worker_id(),
                stop_event=stop,
                **({"threads": threads} if threads is not None else {}),
            )
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                task = progress.add_task(f"{worker.worker_id}: deciding", total=due or None)

                def on_batch(result: BatchResult) -> None:
                    if result.claimed == 0 and not once:
                        progress.update(task, description=f"{worker.worker_id}: waiting for recordings")

                try:
                    total = worker.run(
                        once=once,
                        max_seconds=max_seconds,
                        on_decided=lambda _outcome: progress.advance(task),
                        on_batch=on_batch,
                    )
                except KeyboardInterrupt:
                    stop.set()
                    total = BatchResult()
    finally:
        signal.signal(signal.SIGTERM, previous)
        matcher.close()
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(total.outcomes.items())) or "none"
    console.print(
        f"decided {total.decided} ({outcomes}); retried {total.retried}, failed {total.failed}, "
        f"discarded {total.discarded}"
    )


@app.command("status")
@domain_errors_exit
def status(
    region: str = typer.Option("", "--region", help="Region code prefix (default: the whole country)."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Queue depth by state, oldest waiting recording, failed jobs, today's decisions."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        figures = service.queue_figures(session, region_code=region or None)
    table = Table(title="Dedup queue")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for state, count in figures["depth"].items():
        table.add_row(f"jobs {state}", f"{count:,}")
    age = figures["oldest_waiting_age_seconds"]
    table.add_row("oldest waiting (s)", "-" if age is None else f"{age:,.0f}")
    for outcome, count in figures["decisions_today"].items():
        table.add_row(f"today {outcome}", f"{count:,}")
    for key in ("time_to_decision_p50_seconds", "time_to_decision_p95_seconds"):
        value = figures[key]
        table.add_row(key.replace("_", " "), "-" if value is None else f"{value:,.1f}")
    console.print(table)


@app.command("retry")
@domain_errors_exit
def retry(
    job_id: int = typer.Argument(..., help="A FAILED job's id (see `ektp dedup status`)."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Put a FAILED job back in the queue (audited as the system)."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        job = service.retry_failed(session, job_id=job_id, actor=SYSTEM)
    console.print(f"job {job.id} is {job.state} again")

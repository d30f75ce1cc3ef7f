"""Run by ``make test`` before pytest (``python -m tests.browser_check``): says whether the browser
tests will run. They drive the system Chromium (Debian packages ``chromium`` and
``chromium-driver``) and are skipped without it; that must never go unnoticed, so the warning is
loud. Always exits 0: a missing browser is a skipped suite, not a failed one."""

from __future__ import annotations

import os
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"


def chromium_available(path: str = CHROMIUM) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def chromium_version(path: str = CHROMIUM) -> str:
    try:
        completed = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"version unknown ({exc})"
    lines = [line.strip() for line in completed.stdout.splitlines() if line.strip()]
    return lines[-1] if lines else "version unknown"


def main(path: str = CHROMIUM) -> int:
    if not chromium_available(path):
        bar = "!" * 78
        print(
            "\n".join(
                [
                    bar,
                    "!!",
                    f"!!  BROWSER TESTS WILL BE SKIPPED: {path} not found — install Debian packages",
                    "!!  chromium and chromium-driver (apt-get install -y chromium chromium-driver).",
                    "!!",
                    "!!  The web shell's Playwright tests (login in both languages, resident search,",
                    "!!  refused access, logout) need the system Chromium; no browser is downloaded.",
                    "!!",
                    bar,
                ]
            ),
            file=sys.stderr,
        )
        return 0
    print(f"Browser tests will run with {chromium_version(path)} ({path}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())

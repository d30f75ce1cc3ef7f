"""``python -m tests.browser_check``: loud when the browser tests cannot run, quiet otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import browser_check


def test_missing_chromium_is_announced_loudly_but_does_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "chromium")
    assert browser_check.main(missing) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"BROWSER TESTS WILL BE SKIPPED: {missing} not found" in captured.err
    assert "chromium-driver" in captured.err
    assert len(captured.err.splitlines()) >= 5


def test_a_non_executable_file_is_not_a_browser(tmp_path: Path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("not a browser")
    fake.chmod(0o644)
    assert not browser_check.chromium_available(str(fake))


def test_present_chromium_is_named_with_its_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'Chromium 999.0.1 built on Debian'\n")
    fake.chmod(0o755)
    assert browser_check.main(str(fake)) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.strip() == f"Browser tests will run with Chromium 999.0.1 built on Debian ({fake})."

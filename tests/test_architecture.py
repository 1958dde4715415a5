"""The dependency rules of DESIGN.md §1, checked by import-linter on every test run."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports")
    assert exe, "import-linter is a dev dependency: pip install -e '.[dev]'"
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_has_no_wall_clock_reads():
    # import-linter forbids modules; this catches datetime.now()/utcnow()/today() calls too.
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in (ROOT / "core").rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any(c in line for c in (".now(", ".utcnow(", ".today(", "time.time("))
        and "def now(" not in line
        and "clock.now(" not in line
    ]
    assert offenders == [], offenders


def test_python_version():
    assert sys.version_info >= (3, 11)

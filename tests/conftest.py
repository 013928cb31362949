from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")

from evalbook.build.example import example_values  # noqa: E402
from evalbook.build.sheets import workbook_bytes  # noqa: E402

EXAMPLE = ROOT / "examples" / "衡山县住建局2020.xlsm"
TEMPLATE = ROOT / "workbook_template.xlsm"


@pytest.fixture
def seed_values() -> dict:
    values, _ = example_values()
    return values


@pytest.fixture
def make_book(tmp_path):
    """A template (.xlsx, no VBA) filled with `values`; returns its path."""
    counter = iter(range(10_000))

    def make(values: dict, name: str | None = None) -> Path:
        path = tmp_path / (name or f"book{next(counter)}.xlsx")
        path.write_bytes(workbook_bytes(values))
        return path

    return make


SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-uno lives there, not in the venv


def libreoffice_unavailable() -> str | None:
    """Why the LibreOffice checks cannot run here, or None when they can."""
    import shutil
    import subprocess

    if shutil.which("soffice") is None:
        return "soffice is not on PATH (LibreOffice not installed)"
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True)
    if probe.returncode != 0:
        return f"{SYSTEM_PYTHON} cannot import uno (python3-uno missing)"
    return None

#!/usr/bin/python3
"""Fill one template again and again in LibreOffice, recalculating after each fill, and print
what its named outputs show, as JSON lines.

Usage: /usr/bin/python3 tests/lo_fill.py JOB.json

JOB: {"template": path, "outputs": [defined name, ...],
      "cases": [{"label": ..., "cells": [[sheet, "B4", value], ...]}, ...]}
Each case sets its cells as an accountant types them (a string stays text: setString never makes
a formula; a number is a number; null empties the cell), runs calculateAll, and prints
{"label": ..., "values": {name: shown}}.  One soffice serves every case: loading a workbook
costs about a second, filling one a few milliseconds.  Runs with the system Python (python3-uno).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lo_recalc import _cell_value  # noqa: E402
from lo_vba_reader import SOFFICE, _connect, _prop  # noqa: E402


VALUE, STRING, FORMULA = 1, 4, 16  # com.sun.star.sheet.CellFlags


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    profile = Path(tempfile.mkdtemp(prefix="lo-fill-profile-"))
    pipe = f"lo_fill_{uuid.uuid4().hex}"
    process = subprocess.Popen(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible", "--nologo",
         "--norestore", "--nodefault", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        context = _connect(pipe, process, time.monotonic() + 120)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        doc = desktop.loadComponentFromURL(Path(job["template"]).resolve().as_uri(), "_blank", 0,
                                           (_prop("Hidden", True),))
        try:
            sheets = doc.Sheets
            ranges = doc.NamedRanges
            outputs = [(n, ranges.getByName(n).getReferredCells().getCellByPosition(0, 0))
                       for n in job["outputs"] if ranges.hasByName(n)]
            # outputs that are cells of a named column: [label, sheet, "H12"]
            outputs += [(label, sheets.getByName(sheet).getCellRangeByName(ref))
                        for label, sheet, ref in job.get("cells_out", ())]
            cell_cache = {}
            last: dict[tuple[str, str], object] = {}  # a cell already holding the value is not set again
            for case in job["cases"]:
                for sheet, ref, value in case["cells"]:
                    key = (sheet, ref)
                    if key in last and last[key] == value and type(last[key]) is type(value):
                        continue
                    last[key] = value
                    if key not in cell_cache:
                        cell_cache[key] = sheets.getByName(sheet).getCellRangeByName(ref)
                    cell = cell_cache[key]
                    if value is None:
                        cell.clearContents(VALUE | STRING | FORMULA)
                    elif isinstance(value, str):
                        cell.setString(value)
                    else:
                        cell.setValue(float(value))
                doc.calculateAll()
                values = {name: _cell_value(cell) for name, cell in outputs}
                print(json.dumps({"label": case["label"], "values": values}, ensure_ascii=False), flush=True)
        finally:
            doc.close(True)
        try:
            desktop.terminate()
        except Exception:  # the bridge drops as soffice exits
            pass
    finally:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

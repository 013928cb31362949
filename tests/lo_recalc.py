#!/usr/bin/python3
"""Recalculate workbooks in LibreOffice and print what their named cells show, as JSON lines.

Usage: /usr/bin/python3 tests/lo_recalc.py NAMES_FILE DOCUMENT...

The independent second calculator for the native formulas: one headless soffice (a throw-away
profile) loads each DOCUMENT hidden, runs calculateAll, and prints one line per document:
``{"path": ..., "values": {name: value}, "seconds": recalculation time}`` for every defined name
listed (one per line) in NAMES_FILE that the document has.  A name over a range gives its
top-left cell.  Runs with the system Python, where python3-uno lives.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lo_vba_reader import SOFFICE, _connect, _prop  # noqa: E402

import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import uuid  # noqa: E402


def _cell_value(cell):
    from com.sun.star.table.CellContentType import TEXT, VALUE, FORMULA  # noqa: F401
    if cell.getError():
        return {"error": cell.getError()}
    kind = cell.getType().value
    if kind == "EMPTY":
        return None
    if kind == "TEXT":
        return cell.getString()
    if kind == "VALUE":
        return cell.getValue()
    # a formula: its result's type decides
    result = cell.FormulaResultType2 if hasattr(cell, "FormulaResultType2") else None
    from com.sun.star.sheet.FormulaResult import VALUE as RESULT_VALUE
    if result == RESULT_VALUE:
        return cell.getValue()
    return cell.getString()


def main() -> int:
    names = [n for n in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines() if n]
    documents = [Path(p) for p in sys.argv[2:]]
    profile = Path(tempfile.mkdtemp(prefix="lo-recalc-profile-"))
    pipe = f"lo_recalc_{uuid.uuid4().hex}"
    process = subprocess.Popen(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible", "--nologo",
         "--norestore", "--nodefault", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        context = _connect(pipe, process, time.monotonic() + 120)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        for document in documents:
            doc = desktop.loadComponentFromURL(document.resolve().as_uri(), "_blank", 0,
                                               (_prop("Hidden", True), _prop("ReadOnly", True)))
            if doc is None:
                print(json.dumps({"path": str(document), "error": "not loaded"}), flush=True)
                continue
            try:
                start = time.perf_counter()
                doc.calculateAll()
                seconds = time.perf_counter() - start
                ranges = doc.NamedRanges
                values = {}
                for name in names:
                    if not ranges.hasByName(name):
                        continue
                    cells = ranges.getByName(name).getReferredCells()
                    if cells is None:
                        continue
                    values[name] = _cell_value(cells.getCellByPosition(0, 0))
                print(json.dumps({"path": str(document), "values": values, "seconds": seconds},
                                 ensure_ascii=False), flush=True)
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

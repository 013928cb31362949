"""LibreOffice's recalculation time for the template's native formulas, printed from one run (not a test).

1. Full recalculation (calculateAll) of the example workbook, and the same for the blank template.
2. An edit: one input typed, then the recalculation LibreOffice does on its own (no volatile
   function anywhere, so only the cells depending on it are computed) against a full one.

    python bench/bench_recalc.py      (needs soffice and /usr/bin/python3 with python3-uno)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

UNO = r'''
import sys, time
sys.path.insert(0, sys.argv[1])
from lo_vba_reader import SOFFICE, _connect, _prop
import subprocess, tempfile, uuid, shutil
from pathlib import Path
profile = Path(tempfile.mkdtemp()); pipe = "bench" + uuid.uuid4().hex
p = subprocess.Popen([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible",
                      "--norestore", "--nodefault", f"--accept=pipe,name={pipe};urp;"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ctx = _connect(pipe, p, time.monotonic() + 120)
desk = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
for path in sys.argv[2:]:
    start = time.perf_counter()
    doc = desk.loadComponentFromURL(Path(path).resolve().as_uri(), "_blank", 0, (_prop("Hidden", True),))
    loaded = time.perf_counter() - start
    runs = []
    for _ in range(5):
        start = time.perf_counter(); doc.calculateAll(); runs.append(time.perf_counter() - start)
    cell = doc.Sheets.getByName("基础数据表").getCellRangeByName(
        doc.NamedRanges.getByName("公用经费_本年决算").getContent().split(".")[-1].replace("$", ""))
    edits = []
    for value in (150.0, 154.98, 120.0, 154.98, 99.0):
        start = time.perf_counter(); cell.setValue(value); doc.calculate(); edits.append(time.perf_counter() - start)
    print(f"{Path(path).name}: load {loaded:.2f} s; calculateAll min {min(runs) * 1000:.1f} ms; "
          f"one edit + calculate min {min(edits) * 1000:.1f} ms; ratio edit/full {min(edits) / min(runs):.2f}")
    doc.close(True)
try: desk.terminate()
except Exception: pass
p.wait(); shutil.rmtree(profile, ignore_errors=True)
'''


def main() -> None:
    import tempfile

    sys.path.insert(0, str(ROOT))
    from evalbook.build.sheets import workbook_bytes

    with tempfile.TemporaryDirectory() as tmp:
        blank = Path(tmp) / "空白模板.xlsx"
        blank.write_bytes(workbook_bytes())
        subprocess.run(["/usr/bin/python3", "-c", UNO, str(ROOT / "tests"),
                        str(ROOT / "examples" / "衡山县住建局2020.xlsm"), str(blank)], check=True)


if __name__ == "__main__":
    main()

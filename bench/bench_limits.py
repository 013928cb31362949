"""Time and peak memory of one `evalbook` command on each oversized file of issue 10, point 4
(not a test; tests/test_limits.py asserts the verdicts).

Every case passes the zip-bomb guards (sizes and ratios are honest) and used to take 12-22 s and
1-2 GB: a data sheet of 1,000,000 rows, 3,000,000 shared strings, elements nested 2,000,000 deep,
a zip whose end record claims 30 entries but whose directory holds 3,600,000, /dev/zero and a
FIFO; then `batch --jobs 2` over all of them.
The target is a verdict within 5 s and at most 300 MB for each, on this 2-core machine.  Memory is
the largest process's peak resident size (ru_maxrss; see LAUNCHER), each case measured alone.

    python bench/bench_limits.py            # all cases, full size
    python bench/bench_limits.py rows zip   # some of them
"""

from __future__ import annotations

import io
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "衡山县住建局2020.xlsm"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
FULL = {"rows": 1_000_000, "strings": 3_000_000, "depth": 2_000_000, "zip": 3_600_000}
TIME_LIMIT, MEMORY_LIMIT_MB = 5.0, 300


def _parts() -> dict[str, bytes]:
    with zipfile.ZipFile(EXAMPLE) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data,
                       compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
    return out.getvalue()


def data_sheet_part() -> str:
    sys.path.insert(0, str(ROOT))
    from evalbook.workbook import contract as C
    from evalbook.adapters.xlsx import XlsxBook

    with XlsxBook(EXAMPLE) as book:
        return book.sheet_parts[C.DATA_SHEET]


def many_rows(count: int, cells_per_row: int = 2) -> bytes:
    """The example with `count` rows of random numbers appended to its data sheet (random, so
    the part compresses no better than real data and passes the ratio guard)."""
    parts = _parts()
    part = data_sheet_part()
    rng = random.Random(1)
    start = 1000
    columns = [chr(ord("H") + i) for i in range(cells_per_row)]
    rows = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{col}{r}"><v>{rng.random():.9f}</v></c>' for col in columns) + "</row>"
        for r in range(start, start + count))
    text = parts[part].decode()
    parts[part] = text.replace("</sheetData>", rows + "</sheetData>", 1).encode()
    return _zip(parts)


def many_strings(count: int) -> bytes:
    """The example with a shared-strings table of `count` strings (random text)."""
    parts = _parts()
    rng = random.Random(2)
    body = "".join(f"<si><t>{rng.getrandbits(40):x}</t></si>" for _ in range(count))
    parts["xl/sharedStrings.xml"] = (f'<sst xmlns="{MAIN_NS}" count="{count}" uniqueCount="{count}">'
                                     f"{body}</sst>").encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    parts["xl/_rels/workbook.xml.rels"] = rels.replace("</Relationships>", (
        '<Relationship Id="rIdStrings" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')).encode()
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace("</Types>", (
        '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')).encode()
    return _zip(parts)


def deep_nesting(depth: int, part: str | None = None) -> bytes:
    """The example with elements nested `depth` deep in an extension list of its data sheet (or
    of `part`), under random names so that it compresses like real data."""
    parts = _parts()
    part = part or data_sheet_part()
    rng = random.Random(3)
    names = [f"q{rng.getrandbits(24):06x}" for _ in range(depth)]
    chain = "".join(f"<{n}>" for n in names) + "".join(f"</{n}>" for n in reversed(names))
    text = parts[part].decode()
    closing = text.rindex("</")
    parts[part] = (text[:closing] + f'<extLst><ext uri="{{deep}}">{chain}</ext></extLst>' + text[closing:]).encode()
    return _zip(parts)


def lying_directory(entries: int, claimed: int = 30) -> bytes:
    """The example zip plus `entries` directory records (all naming one empty stored part), with
    an end record that claims `claimed` entries: zipfile believes the directory's byte size."""
    base = _zip(_parts())
    end = base.rfind(b"PK\x05\x06")
    _, _, _, _, cd_size, cd_offset, _ = struct.unpack_from("<HHHHIIH", base, end + 4)
    body, directory = base[:cd_offset], base[cd_offset: cd_offset + cd_size]
    name = b"x/a"
    local_at = len(body)
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
    record = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0,
                         len(name), 0, 0, 0, 0, 0, local_at) + name
    extra = record * entries
    new_directory = directory + extra
    new_offset = local_at + len(local)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, claimed, claimed, len(new_directory), new_offset, 0)
    return body + local + new_directory + eocd


BUILDERS = {"rows": many_rows, "strings": many_strings, "depth": deep_nesting, "zip": lying_directory}


def build(kind: str, folder: Path, size: int | None = None) -> Path:
    path = folder / f"{kind}.xlsm"
    path.write_bytes(BUILDERS[kind](size or FULL[kind]))
    return path


def build_apart(kind: str, folder: Path, size: int | None = None) -> Path:
    """`build` in a child process: a child's peak memory starts from its parent's size at the
    fork, so the measuring process must stay small."""
    subprocess.run([sys.executable, __file__, "--build", kind, str(folder), str(size or FULL[kind])], check=True)
    return folder / f"{kind}.xlsm"


# Peak memory is read by a small launcher from RUSAGE_CHILDREN: a child's ru_maxrss starts from
# the size of whatever process spawned it (vfork and exec keep the parent's high-water mark), so
# the spawning process must itself be small; the figure is the largest single process among the
# command and its workers.
LAUNCHER = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)")
CLI = "import sys; from evalbook.cli import main; sys.exit(main(sys.argv[1:]))"


def measure(argv: list[str]) -> tuple[int, float, float, str]:
    """(exit code, seconds, peak MB of the largest process, last line of stderr) of one evalbook
    command (its workers included)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XLWINGS_LICENSE_KEY": "noncommercial"}
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        probe = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, "-c", CLI, *argv], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=err, text=True)
        seconds = time.perf_counter() - started
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    peak_kb, code = probe.stdout.strip().splitlines()[-1].split()
    unit = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes there, kilobytes on Linux
    return int(code), seconds, int(peak_kb) / unit, lines[-1] if lines else ""


def main(kinds: list[str]) -> int:
    kinds = kinds or [*BUILDERS, "dev-zero", "fifo", "batch"]
    failed = 0
    built: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="evalbook-limits-") as tmp:
        folder = Path(tmp)
        for kind in kinds:
            if kind == "batch":
                files = built + [EXAMPLE]
                code, seconds, peak, _ = measure(["batch", "--jobs", "2", "-o", str(folder / "汇总.xlsx"),
                                                  *map(str, files)])
                ok = peak <= MEMORY_LIMIT_MB
                failed += not ok
                print(f"batch --jobs 2 over {len(files)} files (the cases above and the example): exit {code}, "
                      f"{seconds:.2f} s, largest process {peak:.0f} MB {'ok' if ok else 'OVER'}")
                continue
            if kind == "dev-zero":
                argv, label = ["check", "/dev/zero"], "check /dev/zero"
            elif kind == "fifo":
                fifo = folder / "管道.xlsm"
                os.mkfifo(fifo)
                argv, label = ["score", str(fifo)], "score on a FIFO"
            else:
                started = time.perf_counter()
                path = build_apart(kind, folder)
                built.append(path)
                made = time.perf_counter() - started
                label = f"score {kind} ({FULL[kind]:,}; {path.stat().st_size / 2**20:.0f} MB, built in {made:.0f} s)"
                argv = ["score", str(path)]
            code, seconds, peak, line = measure(argv)
            ok = seconds <= TIME_LIMIT and peak <= MEMORY_LIMIT_MB
            failed += not ok
            print(f"{label}: exit {code}, {seconds:.2f} s, peak {peak:.0f} MB {'ok' if ok else 'OVER'}")
            print(f"    {line[:200]}")
    print(f"targets: verdict within {TIME_LIMIT:.0f} s, peak memory <= {MEMORY_LIMIT_MB} MB")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build(sys.argv[2], Path(sys.argv[3]), int(sys.argv[4]))
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))

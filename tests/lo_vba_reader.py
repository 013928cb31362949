#!/usr/bin/python3
"""Print the Basic modules LibreOffice imports from a document, as JSON.

Usage: /usr/bin/python3 tests/lo_vba_reader.py DOCUMENT [--timeout SECONDS]

Runs with the system Python because that is where python3-uno lives; the
project's virtualenv usually cannot import ``uno``. Starts its own headless
soffice with a throw-away user profile (so concurrent runs and a desktop
session never share state), loads DOCUMENT hidden, and prints
``{module_name: source}`` for every module of every Basic library of the
document (imported VBA lands in a library named after the VBA project).
The library names go to stderr for diagnosis.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import uno  # noqa: E402  (system python3-uno)
from com.sun.star.beans import PropertyValue  # noqa: E402
from com.sun.star.connection import NoConnectException  # noqa: E402

SOFFICE = shutil.which("soffice") or "/usr/lib/libreoffice/program/soffice"


def _prop(name: str, value) -> PropertyValue:
    prop = PropertyValue()
    prop.Name = name
    prop.Value = value
    return prop


def _connect(pipe: str, process: subprocess.Popen, deadline: float):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
    while True:
        try:
            return resolver.resolve(url)
        except NoConnectException:
            if process.poll() is not None:
                raise RuntimeError(f"soffice exited early with code {process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError("soffice did not accept a UNO connection in time")
            time.sleep(0.25)


def read_basic_modules(document: Path, timeout: float) -> dict[str, str]:
    profile = Path(tempfile.mkdtemp(prefix="lo-vba-profile-"))
    pipe = f"lo_vba_reader_{uuid.uuid4().hex}"
    process = subprocess.Popen(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            f"--accept=pipe,name={pipe};urp;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    try:
        context = _connect(pipe, process, deadline)
        desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
        doc = desktop.loadComponentFromURL(
            document.resolve().as_uri(),
            "_blank",
            0,
            (_prop("Hidden", True), _prop("ReadOnly", True)),
        )
        if doc is None:
            raise RuntimeError(f"LibreOffice could not load {document}")
        try:
            modules: dict[str, str] = {}
            libraries = doc.BasicLibraries
            names = list(libraries.getElementNames())
            print(f"libraries: {names}", file=sys.stderr)
            for library_name in names:
                if not libraries.isLibraryLoaded(library_name):
                    libraries.loadLibrary(library_name)
                library = libraries.getByName(library_name)
                for module_name in library.getElementNames():
                    modules[module_name] = library.getByName(module_name)
            return modules
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", type=Path)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    modules = read_basic_modules(args.document, args.timeout)
    json.dump(modules, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

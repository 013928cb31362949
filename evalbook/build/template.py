"""Build `workbook_template.xlsm` (and the example workbooks) from the text sources.

    python -m evalbook.build          # rewrites workbook_template.xlsm and examples/
"""

from __future__ import annotations

from importlib import resources
from typing import Mapping

from . import package, sheets


def ribbon_xml() -> bytes:
    return resources.files("evalbook.template").joinpath("customUI14.xml").read_bytes()


def vba_project() -> bytes | None:
    try:
        from .vba import build_project
    except ImportError:
        return None
    return build_project()


def build_template_bytes(values: Mapping[str, object] | None = None,
                         comments: Mapping[str, str] | None = None) -> bytes:
    xlsx = sheets.workbook_bytes(values, comments)
    return package.make_xlsm(xlsx, vba_project(), _ribbon_or_none())


def _ribbon_or_none() -> bytes | None:
    try:
        return ribbon_xml()
    except (FileNotFoundError, ModuleNotFoundError):
        return None

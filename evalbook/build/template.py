"""Build `workbook_template.xlsm` (and the example workbooks) from the text sources.

    python -m evalbook.build          # rewrites workbook_template.xlsm and examples/
"""

from __future__ import annotations

from importlib import resources
from typing import Mapping

from evalbook.department.framework import Framework

from . import package, sheets


def ribbon_xml() -> bytes:
    return resources.files("evalbook.template").joinpath("customUI14.xml").read_bytes()


def vba_project(funds: int = 1, framework: Framework | None = None) -> bytes:
    from .vba import build_project  # reads the installed xlwings' VBA: only when building

    return build_project(funds, framework)


def build_template_bytes(values: Mapping[str, object] | None = None,
                         comments: Mapping[str, str] | None = None, funds: int = 1,
                         framework: Framework | None = None) -> bytes:
    xlsx = sheets.workbook_bytes(values, comments, funds, framework)
    return package.make_xlsm(xlsx, vba_project(funds, framework), ribbon_xml())

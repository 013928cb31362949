"""Build `workbook_template.xlsm` (and the example workbooks) from the text sources.

    python -m evalbook.build          # rewrites workbook_template.xlsm and examples/
"""

from __future__ import annotations

from typing import Mapping

from evalbook.adapters.workbook_kind import XLSM, XLSX
from evalbook.department.framework import Framework

from . import package, sheets
from .macros import TemplateMacros, ribbon_xml

__all__ = ["build_template_bytes", "ribbon_xml", "vba_project"]


def vba_project(funds: int = 1, framework: Framework | None = None) -> bytes:
    from .vba import build_project  # reads the installed xlwings' VBA: only when building

    return build_project(funds, framework)


def build_template_bytes(values: Mapping[str, object] | None = None,
                         comments: Mapping[str, str] | None = None, funds: int = 1,
                         framework: Framework | None = None, kind: str = XLSM) -> bytes:
    """The template as a .xlsm (VBA project and ribbon) or, for offices without Python or macros,
    as a .xlsx: the same sheets, names and formulas, nothing else."""
    xlsx = sheets.workbook_bytes(values, comments, funds, framework)
    return package.make_package(xlsx, kind, TemplateMacros() if kind == XLSM else None)

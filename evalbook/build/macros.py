"""The template's VBA project and ribbon for any workbook: what a .xlsm written by evalbook gets
when it has no project of its own (`adapters.workbook_kind.MacroSource`).

The build makes the template's project from the layout's code names; a department's workbook
saved as .xlsx and scored into a .xlsm gets the same modules for the code names its package
holds, so each document module finds its sheet.
"""

from __future__ import annotations

from importlib import resources
from typing import Sequence


def ribbon_xml() -> bytes:
    return resources.files("evalbook.template").joinpath("customUI14.xml").read_bytes()


class TemplateMacros:
    def project(self, workbook_code: str, sheet_codes: Sequence[str]) -> bytes:
        from .ovba import build_vba_project
        from .vba import project_modules  # reads the installed xlwings' VBA: only when needed

        return build_vba_project(project_modules(workbook_code, sheet_codes))

    def ribbon(self) -> bytes:
        return ribbon_xml()


class GivenMacros:
    """A project (and ribbon) already built, whatever the code names."""

    def __init__(self, project: bytes, ribbon: bytes | None):
        self._project, self._ribbon = project, ribbon

    def project(self, workbook_code: str, sheet_codes: Sequence[str]) -> bytes:
        return self._project

    def ribbon(self) -> bytes | None:
        return self._ribbon

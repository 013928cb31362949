"""What validation and scoring tell the accountant."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "错误"  # stops the indicator it touches
HINT = "提示"  # advisory only


@dataclass(frozen=True)
class CellRef:
    sheet: str
    cell: str

    def __str__(self) -> str:
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet


@dataclass(frozen=True)
class Finding:
    severity: str
    sheet: str
    cell: str
    name: str
    message: str

    def as_dict(self) -> dict:
        return {
            "severity": self.severity,
            "sheet": self.sheet,
            "cell": self.cell,
            "name": self.name,
            "message": self.message,
        }


def finding(severity: str, ref: CellRef | None, name: str, message: str) -> Finding:
    if ref is None:
        return Finding(severity, "", "", name, message)
    return Finding(severity, ref.sheet, ref.cell, name, message)


def count(findings, severity: str) -> int:
    return sum(1 for f in findings if f.severity == severity)

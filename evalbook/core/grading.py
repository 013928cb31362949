"""等级 from a total, and the counts every graded result reports (department or special fund)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from evalbook.core.findings import ERROR, HINT, Finding, count
from evalbook.core.numbers import fmt_score


@dataclass(frozen=True)
class Grades:
    """(floor, 等级) from the highest floor down: 90 优, 80 良, 60 中, 0 差."""

    bands: tuple[tuple[Fraction, str], ...]

    def grade_for(self, total: Fraction | None) -> str | None:
        if total is None:
            return None
        for floor, name in self.bands:
            if total >= floor:
                return name
        return self.bands[-1][1]

    def describe(self) -> str:
        """'90/80/60': the floors above zero, as the weight-total hint words them."""
        return "/".join(fmt_score(floor) for floor, _ in self.bands if floor > 0)


class Graded:
    """A total with findings: the 等级 and the 错误/提示 counts."""

    findings: list[Finding]
    grades: Grades

    @property
    def total(self) -> Fraction | None:
        raise NotImplementedError

    @property
    def grade(self) -> str | None:
        return self.grades.grade_for(self.total)

    @property
    def errors(self) -> int:
        return count(self.findings, ERROR)

    @property
    def hints(self) -> int:
        return count(self.findings, HINT)

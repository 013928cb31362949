"""The workbook's input cells, read once and understood, with every problem reported once."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping

from . import contract as C
from .findings import ERROR, CellRef, Finding, finding
from .numbers import Reading, read_choice, read_number, read_text, read_yes_no


@dataclass
class Inputs:
    raw: Mapping[str, object]
    refs: Mapping[str, CellRef]
    readings: dict[str, Reading] = field(default_factory=dict)
    grade: str | None = None
    findings: list[Finding] = field(default_factory=list)
    # names that carry an 错误: every indicator reading them is stopped
    bad: set[str] = field(default_factory=set)

    def ref(self, name: str) -> CellRef | None:
        return self.refs.get(name)

    def where(self, name: str) -> str:
        ref = self.refs.get(name)
        return f"{ref}（{name}）" if ref else name

    def report(self, severity: str, name: str, message: str, *, stop: bool | None = None) -> None:
        self.findings.append(finding(severity, self.ref(name), name, message))
        if stop if stop is not None else severity == ERROR:
            self.bad.add(name)

    def value(self, name: str) -> Fraction | None:
        reading = self.readings.get(name)
        return None if reading is None else reading.value

    def text(self, name: str) -> str:
        return read_text(self.raw.get(name))


def read_inputs(raw: Mapping[str, object], refs: Mapping[str, CellRef]) -> Inputs:
    inputs = Inputs(raw=raw, refs=refs)
    for name in C.NUMBER_INPUTS + (C.PERCENT_INPUT,) + C.SELF_SCORES:
        _keep(inputs, name, read_number(raw.get(name)))
    for name in C.YES_NO:
        _keep(inputs, name, read_yes_no(raw.get(name)))
    choice, problem = read_choice(raw.get(C.GRADE_INPUT), C.GRADE_CHOICES)
    inputs.grade = choice
    if problem:
        inputs.report(ERROR, C.GRADE_INPUT, f"{inputs.where(C.GRADE_INPUT)}{problem}")
    return inputs


def _keep(inputs: Inputs, name: str, reading: Reading) -> None:
    inputs.readings[name] = reading
    if reading.problem:
        inputs.report(ERROR, name, f"{inputs.where(name)}{reading.problem}")

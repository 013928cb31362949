"""The workbook's input cells, read once and understood, with every problem reported once."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Mapping

from evalbook.core.findings import ERROR, CellRef, Finding, finding
from evalbook.core.numbers import Reading, read_choice, read_number, read_text, read_yes_no
from evalbook.department import basic_data as B
from evalbook.department.framework import Framework
from evalbook.department.names import self_score_name


@dataclass
class Inputs:
    raw: Mapping[str, object]
    refs: Mapping[str, CellRef]
    framework: Framework
    readings: dict[str, Reading] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)  # 选项 inputs: the word chosen
    findings: list[Finding] = field(default_factory=list)
    # names that carry an 错误: every indicator reading them is stopped
    bad: set[str] = field(default_factory=set)
    # blank inputs an indicator needed: name → the indicators that needed it, in scoring order
    lacking: dict[str, list[str]] = field(default_factory=dict)

    def ref(self, name: str) -> CellRef | None:
        return self.refs.get(name)

    def where(self, name: str) -> str:
        ref = self.refs.get(name)
        return f"{ref}（{name}）" if ref else name

    def report(self, severity: str, name: str, message: str, *, stop: bool | None = None) -> None:
        self.findings.append(finding(severity, self.ref(name), name, message))
        if stop if stop is not None else severity == ERROR:
            self.bad.add(name)

    def lack(self, name: str, key: str) -> None:
        """Indicator `key` could not be scored because input `name` is blank (named once, later)."""
        keys = self.lacking.setdefault(name, [])
        if key not in keys:
            keys.append(key)

    def report_lacking(self) -> None:
        """One 错误 per blank input that some indicator needed, naming the cell, the defined name
        and every indicator waiting for it: a gap is a finding, not just a 待补充 in 扣分说明."""
        order = {name: i for i, name in enumerate(self.framework.inputs)}
        for name in sorted(self.lacking, key=lambda n: order.get(n, len(order))):
            keys = self.lacking[name]
            raw = self.raw.get(name)
            blank = "只有空格，视为未填写" if isinstance(raw, str) and raw else "未填写"
            item = self.framework.inputs.get(name)
            choices = ""
            if item is not None and item.kind == B.YES_NO:
                choices = "（应填“是”或“否”）"
            elif item is not None and item.choices:
                choices = f"（应选择{'/'.join(item.choices)}）"
            self.report(ERROR, name, f"{self.where(name)}{blank}{choices}，"
                                     f"{'、'.join(keys)}需要此项数据，暂不计分")

    def value(self, name: str) -> Fraction | None:
        reading = self.readings.get(name)
        return None if reading is None else reading.value

    def text(self, name: str) -> str:
        return read_text(self.raw.get(name))


def read_inputs(raw: Mapping[str, object], refs: Mapping[str, CellRef], framework: Framework) -> Inputs:
    """Numbers first (the 基础数据表, then the framework's own), the self-scores, then 是/否 and
    选项 inputs: the order findings are listed in."""
    inputs = Inputs(raw=raw, refs=refs, framework=framework)
    items = framework.inputs.values()
    numbers = [i.name for i in items if i.kind not in (B.YES_NO, B.CHOICE)]
    for name in numbers + [self_score_name(k) for k in framework.keys]:
        _keep(inputs, name, read_number(raw.get(name)))
    for item in items:
        if item.kind == B.YES_NO:
            _keep(inputs, item.name, read_yes_no(raw.get(item.name)))
    for item in items:
        if item.kind == B.CHOICE:
            choice, problem = read_choice(raw.get(item.name), item.choices)
            if choice is not None:
                inputs.choices[item.name] = choice
            if problem:
                inputs.report(ERROR, item.name, f"{inputs.where(item.name)}{problem}")
    return inputs


def _keep(inputs: Inputs, name: str, reading: Reading) -> None:
    inputs.readings[name] = reading
    if reading.problem:
        inputs.report(ERROR, name, f"{inputs.where(name)}{reading.problem}")

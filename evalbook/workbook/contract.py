"""The public contract: the sheets and workbook-scope defined names every template carries.

Code reads and writes cells only through these names, so rows inserted by an accountant never
break anything.  The sheet layout (`evalbook.workbook.layout`) places every one of them.  Which
indicators and qualitative inputs there are comes from the workbook's framework: `Contract`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from evalbook.department import basic_data as B
from evalbook.department.framework import Framework, seed_framework
from evalbook.department.names import note_name, score_name, self_score_name, value_name, weight_name

SCORE_SHEET = "评分表"
DATA_SHEET = "基础数据表"
RULES_SHEET = "评分规则"
RESULTS_SHEET = "校验结果"
SHEETS = (SCORE_SHEET, DATA_SHEET, RULES_SHEET, RESULTS_SHEET)

TOTAL = "总分"
GRADE = "等级"
SELF_TOTAL = "自评总分"
STATUS = "校验状态"
WEIGHT_TOTAL = "分值合计"
RULES_TABLE = "评分规则表"  # the rule rows, header excluded
RESULTS_TABLE = "校验结果表"  # first cell of the findings table, header excluded

FINDING_COLUMNS = ("序号", "级别", "工作表", "单元格", "名称", "说明")

__all__ = [
    "Contract", "DATA_SHEET", "FINDING_COLUMNS", "GRADE", "RESULTS_SHEET", "RESULTS_TABLE", "RULES_SHEET",
    "RULES_TABLE", "SCORE_SHEET", "SELF_TOTAL", "SHEETS", "STATUS", "TOTAL", "WEIGHT_TOTAL", "contract_for",
    "level2_names", "note_name", "score_name", "self_score_name", "value_name", "weight_name",
]


def level2_names(level2: str) -> tuple[str, str]:
    """The names of a 二级指标's 分值 and 得分 cells (behind the chart)."""
    return f"二级分值_{level2}", f"二级得分_{level2}"


@dataclass(frozen=True, eq=False)
class Contract:
    """The defined names a template made from `framework` carries."""

    framework: Framework

    @functools.cached_property
    def number_inputs(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.framework.inputs.values() if i.kind not in (B.YES_NO, B.CHOICE))

    @functools.cached_property
    def self_scores(self) -> tuple[str, ...]:
        return tuple(self_score_name(k) for k in self.framework.keys)

    @functools.cached_property
    def input_names(self) -> tuple[str, ...]:
        """Every cell the department fills in: numbers, 是/否 and 选项 inputs, self-scores, text."""
        items = self.framework.inputs.values()
        return (self.number_inputs + tuple(i.name for i in items if i.kind == B.YES_NO)
                + tuple(i.name for i in items if i.kind == B.CHOICE) + self.self_scores + B.TEXT_INPUTS)

    @functools.cached_property
    def output_names(self) -> tuple[str, ...]:
        keys = self.framework.keys
        return (tuple(value_name(k) for k in keys) + tuple(score_name(k) for k in keys)
                + tuple(note_name(k) for k in keys) + (TOTAL, GRADE, SELF_TOTAL, STATUS))

    @functools.cached_property
    def required_names(self) -> tuple[str, ...]:
        """A workbook without these cannot be scored at all (exit 2)."""
        return self.input_names + self.output_names + (RULES_TABLE, RESULTS_TABLE)


@functools.cache
def contract_for(framework: Framework | None = None) -> Contract:
    return Contract(framework or seed_framework())

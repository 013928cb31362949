"""Indicator frameworks as workbooks a finance bureau writes in Excel: read one, write one.

Sheets 评分规则, 基础数据项, 审核规则, 等级, 说明 (columns found by their header in row 1, in any
order) and, when written, a 填写说明 sheet explaining every column.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill

from evalbook.adapters.package import atomic_write_bytes, writable_check
from evalbook.core.errors import FrameworkInvalid, WorkbookUnusable
from evalbook.core.textsafe import FORMULA_STARTS
from evalbook.department.framework import SECTION_COLUMNS, Framework, grid_section, load_framework

SHEET_ORDER = ("说明", "评分规则", "基础数据项", "审核规则", "等级")
MAX_ROWS = 2000  # a framework is a table of indicators, not a data set

COLUMN_HELP: dict[str, tuple[tuple[str, str], ...]] = {
    "评分规则": (
        ("一级指标", "评分表上的一级指标，如“投入”“过程”；相同的相邻行合并显示"),
        ("二级指标", "评分表上的二级指标，如“预算配置”"),
        ("三级指标", "评分表上印出的指标名称，如“在职人员控制率”"),
        ("指标键", "指标在定义名称和JSON中使用的名称，只能含文字、数字、下划线，不能以数字开头，且不能重复"),
        ("分值", "本指标满分；所有指标分值之和应等于“说明”表的总分"),
        ("计算公式", "用基础数据表或“基础数据项”中的名称写的算式，如“公用经费_本年决算/公用经费_本年预算”，"
                  "可用 + - * / × ÷ 括号和 SUM、MAX、MIN、ABS；清单计分列出各“是否”输入，用“、”分隔；"
                  "计数扣分、等级计分、录入得分填那一个输入的名称"),
        ("计分方法", "超限扣分、低于目标扣分、偏离扣分、分档计分、清单计分、计数扣分、比例折算、等级计分、录入得分之一"),
        ("基准值", "按步扣分的标准，如“100%”“0%”"),
        ("步长", "每一步的幅度，如“1%”“5%”"),
        ("每步分值", "每一步扣（清单计分：每项得）的分数"),
        ("不足一步", "整步、不足一步按一步、按比例之一（默认整步）"),
        ("分档/等级", "分档计分如“0%:5；(0%,10%]:4；>30%:0”（“0%”表示恰好为0，不要以“=”开头）；"
                   "等级计分如“好:6；一般:3；差:0”"),
        ("评价标准", "评分表“评价标准”列的文字"),
        ("指标说明", "评分表“指标说明”列的文字"),
        ("口径说明", "评分规则表上对本行规则的说明"),
        ("规则选项", "可选：允许负值；负值按0（原因）；全空按满分（含义），多个用“；”分隔"),
    ),
    "基础数据项": (
        ("名称", "计算公式中使用的名称，也是该输入单元格的定义名称"),
        ("标签", "单元格旁显示的文字"),
        ("简称", "扣分说明中使用的简称（可空）"),
        ("单位", "如“万元”“人”“%”（可空）"),
        ("类型", "金额、人数、数值、百分比、计数、是否、选项、录入之一"),
        ("选项", "类型为“选项”时的可选值，如“好、一般、差”"),
        ("所在表", "基础数据表 或 评分表（定性输入放在评分表中所属指标旁）"),
    ),
    "审核规则": (
        ("左式", "算式，如“三公经费_本年预算”"),
        ("关系", "=、<=、>=、<、> 之一"),
        ("右式", "算式，如“公务用车经费_本年预算+出国经费_本年预算+公务接待_本年预算”"),
        ("容差", "允许的差额，如“0.01”（可空，默认0）"),
        ("级别", "错误（相关指标不计分）或 提示"),
        ("说明", "校验结果中附加的说明"),
    ),
    "等级": (("等级", "如“优”"), ("下限", "总分不低于此分数即为该等级，如“90”")),
    "说明": (("项目", "名称、适用地区、年度、文号、总分，或“口径说明”（可多行）"), ("内容", "对应的内容")),
}


def read_framework_book(path: str | Path) -> Framework:
    """The framework a workbook holds; raises FrameworkInvalid listing every problem with its cell."""
    path = Path(path)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise WorkbookUnusable(f"无法读取指标框架“{path.name}”：它不是有效的Excel工作簿（{type(exc).__name__}）") from None
    problems: list[str] = []
    sections = {}
    try:
        if "评分规则" not in wb.sheetnames:
            raise FrameworkInvalid(f"指标框架“{path.name}”缺少“评分规则”工作表", [f"{path.name}：缺少“评分规则”工作表"])
        for name in SECTION_COLUMNS:
            if name not in wb.sheetnames:
                continue
            grid = [tuple(row) for row, _ in zip(wb[name].iter_rows(values_only=True), range(MAX_ROWS))]
            sections[name] = grid_section(name, name, 1, 1, grid, problems)
    finally:
        wb.close()
    if problems:
        raise FrameworkInvalid(f"指标框架“{path.name}”有{len(problems)}处问题", problems)
    return load_framework(sections, path.name)


def framework_book_bytes(framework: Framework) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    sections = framework.sections()
    for name in SHEET_ORDER:
        ws = wb.create_sheet(name)
        columns = SECTION_COLUMNS[name]
        for i, column in enumerate(columns, 1):
            cell = ws.cell(1, i, column)
            cell.font, cell.fill = header_font, header_fill
            ws.column_dimensions[cell.column_letter].width = 40 if column in ("评价标准", "指标说明", "计算公式",
                                                                              "右式", "内容", "分档/等级") else 14
        for r, row in enumerate(sections[name], 2):
            for i, column in enumerate(columns, 1):
                _text_cell(ws, r, i, row.get(column))
        ws.freeze_panes = "A2"
    help_sheet = wb.create_sheet("填写说明")
    help_sheet.append(("工作表", "列", "填写说明"))
    for cell in help_sheet[1]:
        cell.font, cell.fill = header_font, header_fill
    row = 2
    for name in SHEET_ORDER:
        for column, text in COLUMN_HELP[name]:
            for i, value in enumerate((name, column, text), 1):
                _text_cell(help_sheet, row, i, value)
            row += 1
    help_sheet.column_dimensions["A"].width, help_sheet.column_dimensions["B"].width = 12, 12
    help_sheet.column_dimensions["C"].width = 90
    for row in help_sheet.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _text_cell(ws, row: int, column: int, value: object) -> None:
    if value in (None, ""):
        return
    cell = ws.cell(row, column, str(value))
    cell.data_type = "s"  # a framework's text is never a formula, even when it starts like one
    if str(value).startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    if "\n" in str(value):
        cell.alignment = Alignment(wrap_text=True, vertical="top")


def write_framework_book(framework: Framework, target: str | Path) -> Path:
    target = Path(target)
    if target.suffix.lower() != ".xlsx":
        raise WorkbookUnusable(f"指标框架请保存为 .xlsx 文件，而不是“{target.name}”")
    writable_check(target)
    return atomic_write_bytes(target, framework_book_bytes(framework))

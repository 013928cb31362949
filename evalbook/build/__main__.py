"""python -m evalbook.build — rebuild the committed template and example from text sources."""

from __future__ import annotations

import sys
from pathlib import Path

from ..cli import write_atomically
from .example_funds import fund_values, sewage, waterworks
from ..adapters.framework_book import framework_book_bytes
from .example import FRAMEWORK_EXAMPLE_VALUES, example_framework, example_values
from .help import build_help
from .package import reproducible
from .template import build_template_bytes
from ..adapters.workbook_kind import XLSX

TEMPLATE, MACRO_FREE_TEMPLATE = "workbook_template.xlsm", "workbook_template.xlsx"
EXAMPLE = "examples/衡山县住建局2020.xlsm"
FRAMEWORK_EXAMPLE = "examples/示例框架.xlsx"
FRAMEWORK_DEPARTMENT = "examples/示例部门2021.xlsm"
ASSUMED_FUND_NOTE = "示例：各专项资金数额为假设数据，指标完成情况取自部门自评报告。"
EXAMPLE_FUNDS = (waterworks(1), sewage(2))


def main(root: str = ".") -> int:
    base = Path(root)
    write_atomically(base / TEMPLATE, build_template_bytes())
    # for offices without Python (or on WPS): the same template, formulas only, no macros
    write_atomically(base / MACRO_FREE_TEMPLATE, build_template_bytes(kind=XLSX))
    values, comments = example_values()
    (base / "examples").mkdir(exist_ok=True)
    example = base / EXAMPLE
    for fund in EXAMPLE_FUNDS:
        fund.remarks = ASSUMED_FUND_NOTE
        values.update(fund_values(fund))
    write_atomically(example, build_template_bytes(values, comments, funds=len(EXAMPLE_FUNDS)))
    framework = example_framework()
    write_atomically(base / FRAMEWORK_EXAMPLE, reproducible(framework_book_bytes(framework)))
    write_atomically(base / FRAMEWORK_DEPARTMENT,
                     build_template_bytes(FRAMEWORK_EXAMPLE_VALUES, framework=framework))
    build_help()
    print(f"built {base / TEMPLATE}, {base / MACRO_FREE_TEMPLATE}, {base / EXAMPLE}, {base / FRAMEWORK_EXAMPLE} "
          f"and {base / FRAMEWORK_DEPARTMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

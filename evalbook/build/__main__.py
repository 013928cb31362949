"""python -m evalbook.build — rebuild the committed template and example from text sources."""

from __future__ import annotations

import sys
from pathlib import Path

from ..cli import write_atomically
from .example import example_values
from .template import build_template_bytes

EXAMPLE = "examples/衡山县住建局2020.xlsm"


def main(root: str = ".") -> int:
    base = Path(root)
    write_atomically(base / "workbook_template.xlsm", build_template_bytes())
    values, comments = example_values()
    (base / "examples").mkdir(exist_ok=True)
    write_atomically(base / EXAMPLE, build_template_bytes(values, comments))
    print(f"built {base / 'workbook_template.xlsm'} and {base / EXAMPLE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

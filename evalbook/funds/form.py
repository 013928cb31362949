"""The special-fund form's structure as data: its 一级指标, their 二级指标 and default weights
(`seed_form.toml` beside this module)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Group:
    level1: str  # 产出 / 效益 / …
    weight: str  # default 分值, as the 评分规则 sheet shows it
    level2: tuple[str, ...]
    alias: str = ""  # a 二级指标 written as this word means the group's only 二级指标

    @property
    def rule_key(self) -> str:
        """The group's row on the fund 评分规则: 产出指标."""
        return f"{self.level1}指标"


def _groups() -> tuple[Group, ...]:
    data = tomllib.loads(resources.files("evalbook.funds").joinpath("seed_form.toml").read_text(encoding="utf-8"))
    return tuple(Group(g["一级指标"], g["分值"], tuple(g["二级指标"]), g.get("二级指标别名", ""))
                 for g in data["一级指标"])


GROUPS = _groups()
LEVEL1 = tuple(g.level1 for g in GROUPS)

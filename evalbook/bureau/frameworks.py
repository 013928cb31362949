"""Which indicator framework each department was scored under, as a summary shows it.

Departments are compared only with others scored under the same framework: the same 指标键 can
carry different 分值 and rules in two bureaus' tables, and a framework's own indicators mean
nothing to another's.  A framework is told apart by its name and a short fingerprint of its rules
(two versions of one bureau's table share a name, not a fingerprint).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from evalbook.department.framework import Framework, seed_framework

SHORT_FINGERPRINT = 6  # hex digits shown in the 框架 column; the 框架 sheet keeps all of them
UNNAMED = "未命名框架"


def framework_label(name: str | None, fingerprint: str) -> str:
    """What the 框架 column shows, and what `merge` matches frameworks by."""
    return f"{name or UNNAMED}［{fingerprint[:SHORT_FINGERPRINT]}］"


@dataclass(frozen=True)
class FrameworkInfo:
    """What a summary needs of a framework: its indicators in order, with their 二级指标."""

    name: str
    fingerprint: str
    keys: tuple[str, ...]
    level2: tuple[str, ...]

    @property
    def label(self) -> str:
        return framework_label(self.name, self.fingerprint)

    @classmethod
    def of(cls, framework: Framework) -> "FrameworkInfo":
        return cls(framework.name, framework.fingerprint, framework.keys,
                   tuple(ind.level2 for ind in framework.indicators))

    @classmethod
    def from_record(cls, record: Mapping) -> "FrameworkInfo":
        """From a batch record (`workbook.serialise.batch_record`); the seed's for a record without one."""
        if record.get("keys") is None:
            return SEED
        keys = tuple(record["keys"])
        level2 = tuple(record.get("level2") or ("",) * len(keys))
        return cls(record.get("framework") or "", record.get("fingerprint") or "", keys, level2)


SEED = FrameworkInfo.of(seed_framework())


def ordered(counts: Mapping[str, int]) -> list[str]:
    """Framework labels in the order a summary lists them: the most departments first (the
    bureau's own table leads), then by label so the order never depends on arrival."""
    return sorted(counts, key=lambda label: (-counts[label], label))


def union_keys(frameworks: Iterable[FrameworkInfo]) -> tuple[str, ...]:
    """The 汇总 indicator columns: the first framework's in its order, then each further
    framework's indicators the earlier ones lack.  A 指标键 shared by two frameworks is one column."""
    return tuple(dict.fromkeys(key for info in frameworks for key in info.keys))


def mixed_note(labels: list[str], counts: Mapping[str, int]) -> str | None:
    """The 提示 for a summary that mixes frameworks (None when it does not)."""
    if len(labels) < 2:
        return None
    parts = "；".join(f"“{label}”{counts[label]}个" for label in labels)
    return (f"本汇总中的工作簿按{len(labels)}个不同的指标框架评分（{parts}）：各框架的指标和分值不同，"
            f"排名、平均得分率和图表只在同一框架的部门之间比较；各部门所用框架见“汇总”表“框架”列")

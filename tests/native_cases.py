"""Generated departments for the native-formula comparison: every 计分方法 at and around its
boundaries, the float-noise cases, inputs typed the ways accountants type them, gaps, bad data,
and edited rules.  Deterministic (a seeded `random.Random`), so a failure names a case that can
be rebuilt."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction

from evalbook.department import basic_data as B
from evalbook.department.framework import Framework, seed_framework
from evalbook.department.rule import STEP_POLICIES


@dataclass
class Case:
    label: str
    values: dict[str, object]
    rules: list[list[object]] | None = None  # the 评分规则 rows, when edited
    edited_texts: set[str] = field(default_factory=set)  # keys whose 分档/等级 text was edited


def _digits_full_width(text: str) -> str:
    return "".join(chr(0xFF10 + int(ch)) if ch.isdigit() else {"." : "．"}.get(ch, ch) for ch in text)


def _plain(value: Fraction | float | int) -> str:
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text or "0"


def typed(rng: random.Random, value, kind: str = B.MONEY) -> object:
    """`value` as an accountant might have typed it."""
    if value is None:
        return rng.choice([None, "", "\u3000", "  "])
    text = _plain(value)
    forms = [lambda: float(text) if "." in text else int(text),
             lambda: "\u3000" + text, lambda: text + "\u3000", lambda: _digits_full_width(text),
             lambda: " " + text + " "]
    if kind == B.MONEY:
        forms.append(lambda: text + "万元")
        if abs(float(value)) >= 1000:
            whole, _, frac = text.partition(".")
            sign = "-" if whole.startswith("-") else ""
            whole = whole.lstrip("-")
            grouped = f"{int(whole):,}"
            forms.append(lambda: sign + grouped + ("." + frac if frac else ""))
    if kind == B.PERCENT:
        pct = _plain(Fraction(str(float(value))) * 100)
        forms += [lambda: pct + "%", lambda: _digits_full_width(pct) + "％"]
    return rng.choice(forms)()


_BAD = ["abc", "12,34", "1-2", "#DIV/0!", "1.2.3", "+", "五十"]


def _seed_scenarios(rng: random.Random) -> dict[str, object]:
    """Exact figures that sit on or next to a rule's thresholds (before typing forms)."""
    v: dict[str, object] = {}
    staff = rng.choice([100, 100, 101, 102, 99, 110, 120])
    v["编制数"], v["实际在职人数"] = 100, staff
    last = rng.choice([10, 36, 100])
    now = rng.choice([last, last * Fraction(102, 100), last * Fraction(1019, 1000), last * Fraction(98, 100),
                      last * Fraction(121, 100), last * Fraction(1000001, 1000000)])
    now = Fraction(round(now * 100), 100)
    v["三公经费_上年预算"], v["三公经费_本年预算"] = last, now
    v["公务用车经费_本年预算"], v["公车运行维护_本年预算"] = now, now
    v["公车购置_本年预算"] = v["出国经费_本年预算"] = v["公务接待_本年预算"] = None
    spent = rng.choice([Fraction(55, 10), now, now + Fraction(1, 100), Fraction(0)])
    v["三公经费_本年决算"] = v["公务用车经费_本年决算"] = v["公车运行维护_本年决算"] = spent
    total = rng.choice([100, 1000, 12345])
    left = rng.choice([0, Fraction(5, 100), Fraction(499, 10000), Fraction(501, 10000), Fraction(1, 10), 1])
    v["上年结转"], v["年初预算"] = 0, total
    extra = rng.choice([0, Fraction(1, 10), Fraction(10001, 100000), Fraction(2, 10), Fraction(3, 10),
                        Fraction(31, 100), Fraction(-5, 100)])
    v["本年追加预算"] = Fraction(round(total * extra * 100), 100)
    v["年末结余"] = Fraction(round((total + v["本年追加预算"]) * left * 100), 100)
    if rng.random() < 0.5:
        v["楼堂馆所_批复规模"], v["楼堂馆所_实际规模"] = None, None
        v["楼堂馆所_预算投资"], v["楼堂馆所_实际投资"] = rng.choice([(None, None), ("——", "——"), (0, 0)])
    else:
        v["楼堂馆所_批复规模"] = 100
        v["楼堂馆所_实际规模"] = rng.choice([100, 105, Fraction(10501, 100), 110, None])
        v["楼堂馆所_预算投资"], v["楼堂馆所_实际投资"] = 200, rng.choice([200, 210, 211, 180])
    budget = rng.choice([Fraction(1244, 10), 100, 50])
    v["公用经费_本年预算"] = v["办公经费_本年预算"] = budget
    actual = budget * rng.choice([1, Fraction(101, 100), Fraction(1019, 1000), Fraction(2), Fraction(1, 2)])
    actual = Fraction(round(actual * 100), 100)
    v["公用经费_本年决算"] = v["办公经费_本年决算"] = actual
    for part in ("水电差旅费", "会议培训费", "其他公用经费"):
        v[f"{part}_本年预算"] = v[f"{part}_本年决算"] = None
    v["政府采购_本年预算"] = 100
    v["政府采购_本年决算"] = rng.choice([100, 95, 105, Fraction(9499, 100), Fraction(1105, 10), 0, 300])
    return v


def _qualitative(rng: random.Random, framework: Framework, v: dict[str, object]) -> None:
    for item in framework.inputs.values():
        if item.sheet != "评分表" and not item.declared:
            continue
        roll = rng.random()
        if item.kind == B.YES_NO:
            v[item.name] = rng.choice(["是", "是", "否", "Y", "√", "×", None, "是\u3000"]) if roll > 0.05 else "也许"
        elif item.kind == B.CHOICE:
            v[item.name] = rng.choice(list(item.choices) + [None]) if roll > 0.05 else "优秀"
        elif item.kind == B.COUNT:
            v[item.name] = rng.choice([0, 0, 1, 2, 5, "1", None]) if roll > 0.05 else 1.5
        elif item.kind == B.PERCENT:
            p = rng.choice([Fraction(92, 100), Fraction(9, 10), Fraction(8999, 10000), Fraction(7, 10),
                            Fraction(85, 100), Fraction(1, 2)])
            v[item.name] = typed(rng, p, B.PERCENT) if roll > 0.05 else 1.2
        elif item.kind in (B.TYPED, B.NUMBER):
            v[item.name] = typed(rng, rng.choice([0, 5, 9.5, 10, 95, 100]), B.NUMBER) if roll > 0.05 else 11
    if "重点工作考核总分" in v and rng.random() < 0.1:
        v["重点工作考核得分"], v["重点工作考核总分"] = 120, 100


def _type_all(rng: random.Random, framework: Framework, exact: dict[str, object]) -> dict[str, object]:
    out = {}
    for name, value in exact.items():
        item = framework.inputs.get(name)
        kind = item.kind if item is not None else B.NUMBER
        if isinstance(value, (Fraction, int, float)) and not isinstance(value, bool):
            out[name] = typed(rng, value, kind)
        else:
            out[name] = value
    # a few cells typed wrong, blank, or "——"
    names = [n for n, i in framework.inputs.items() if i.kind not in (B.YES_NO, B.CHOICE)]
    for _ in range(rng.choice([0, 0, 0, 1, 2])):
        out[rng.choice(names)] = rng.choice(_BAD + [None, "——", "\u3000", -5])
    return out


def _self_scores(rng: random.Random, framework: Framework, v: dict[str, object]) -> None:
    for ind in framework.indicators:
        if rng.random() < 0.7:
            v[f"自评_{ind.key}"] = rng.choice([float(ind.weight), float(ind.weight) - 1, 0, "5\u3000"])


_BAND_EDITS = ["0%:5；(0%,15%]:4；(15%,30%]:2；>30%:0", "=0%:5；(0%,10%]:3；>10%:1",
               ">=95%:6；[85%,95%):5；[70%,85%):3；<70%:0", "(0%,10%]:4；>10%:0"]
_GRADE_EDITS = ["好:6；一般:3；差:0", "好:5；一般:5；差:1；较差:0"]


def _edit_rules(rng: random.Random, framework: Framework, case: Case) -> None:
    from evalbook.department.rules import COLUMNS

    rows = [list(r) for r in framework.rule_rows()]
    col = {name: i for i, name in enumerate(COLUMNS)}
    for _ in range(rng.choice([1, 2, 3])):
        row = rng.choice(rows)
        ind = framework.by_key[row[0]]
        what = rng.choice(["分值", "基准值", "步长", "每步分值", "不足一步", "计分方法", "分档/等级", "bad"])
        if what == "分值":
            row[col["分值"]] = rng.choice([6, "8", 3.5, "10分"])
        elif what == "基准值":
            row[col["基准值"]] = rng.choice([0.95, "95%", "105%", 1.1, "——"])
        elif what == "步长":
            row[col["步长"]] = rng.choice([0.02, "2%", "0.5%", 0.1])
        elif what == "每步分值":
            row[col["每步分值"]] = rng.choice([1, "0.25", 2.5, 0])
        elif what == "不足一步":
            row[col["不足一步"]] = rng.choice(list(STEP_POLICIES) + [""])
        elif what == "计分方法":
            method = rng.choice(ind.methods)
            row[col["计分方法"]] = method
            if method == "分档计分" and not row[col["分档/等级"]]:
                row[col["分档/等级"]] = rng.choice(_BAND_EDITS)
                case.edited_texts.add(ind.key)
            if method in ("超限扣分", "低于目标扣分", "偏离扣分") and not row[col["步长"]]:
                row[col["基准值"]], row[col["步长"]], row[col["每步分值"]] = "100%", "5%", 1
        elif what == "分档/等级":
            if row[col["计分方法"]] == "分档计分":
                row[col["分档/等级"]] = rng.choice(_BAND_EDITS)
                case.edited_texts.add(ind.key)
            elif row[col["计分方法"]] == "等级计分":
                row[col["分档/等级"]] = rng.choice(_GRADE_EDITS)
                case.edited_texts.add(ind.key)
        else:
            row[col[rng.choice(["分值", "步长", "计分方法"])]] = rng.choice(["abc", -1, None])
    case.rules = rows


def cases(count: int, seed: int = 20261202, framework: Framework | None = None) -> list[Case]:
    framework = framework or seed_framework()
    rng = random.Random(seed)
    found = []
    for i in range(count):
        if framework is seed_framework():
            exact = _seed_scenarios(rng)
        else:
            exact = {name: rng.choice([0, 5, 50, 100, Fraction(1234, 10), 1500]) for name, item in framework.inputs.items()
                     if item.kind in (B.MONEY, B.NUMBER) and item.sheet == "基础数据表"}
        v = _type_all(rng, framework, exact)
        _qualitative(rng, framework, v)
        _self_scores(rng, framework, v)
        case = Case(f"case{i:03d}", {k: x for k, x in v.items() if k in framework.inputs or k.startswith("自评_")})
        if rng.random() < 0.4:
            _edit_rules(rng, framework, case)
        found.append(case)
    return found

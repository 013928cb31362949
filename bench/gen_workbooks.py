"""Make N filled department workbooks from the template, with varied data, for `evalbook batch`.

Every workbook is the real template (.xlsm, VBA and all) with its named input cells filled the
way the file adapter fills them, so it is what a department would send back.  The mix:

* most departments complete and clean, with figures drawn so that scores spread out;
* about 5% missing an input (总分 待补充), 5% with an 错误 (a sum that does not add up, text in a
  number cell, a negative amount), 5% scored by their own edited 评分规则, half with 自评 scores;
* `--broken` (default 2%) files that cannot be read: truncated, CSV renamed .xlsx, empty, an
  ordinary workbook without the template's names, an old .xls, random bytes;
* per folder, an Excel lock file (~$…) and a hidden temporary file that batch must skip.

Files go into one subfolder per 100 (县001/, 县002/, …), as counties would hand them in.
The same seed gives the same files.

    python bench/gen_workbooks.py OUT_DIR N [--seed 2024] [--broken 0.02] [--jobs 2]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from evalbook.department.framework import seed_framework  # noqa: E402
from evalbook.department.framework import seed_framework

PER_FOLDER = 100
COUNTIES = ("衡山县", "衡东县", "衡阳县", "祁东县", "常宁市", "耒阳市", "衡南县", "南岳区", "珠晖区", "蒸湘区")
DEPARTMENTS = (
    "住房和城乡建设局", "教育局", "财政局", "卫生健康局", "交通运输局", "农业农村局", "水利局", "民政局",
    "人力资源和社会保障局", "自然资源局", "生态环境分局", "文化旅游广电体育局", "市场监督管理局", "应急管理局",
    "审计局", "统计局", "司法局", "科学技术局", "商务局", "林业局", "医疗保障局", "退役军人事务局",
    "城市管理和综合执法局", "机关事务服务中心", "档案馆", "供销合作社", "残疾人联合会", "妇女联合会",
)
BROKEN_KINDS = ("truncated", "csv", "empty", "no_names", "xls", "noise")
U = "\u3000"


def _money(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def _maybe_text(rng: random.Random, value: float):
    """Some accountants' cells hold numbers as text with full-width blanks (as the seed does)."""
    return f"{value}{U}" if rng.random() < 0.05 else value


def department_values(rng: random.Random, index: int) -> tuple[dict, str]:
    """(named inputs, kind) for one department; kind is clean / pending / error / rules."""
    v: dict[str, object] = {}
    county = COUNTIES[index // PER_FOLDER % len(COUNTIES)]
    v["填报单位"] = f"{county}{DEPARTMENTS[index % len(DEPARTMENTS)]}（{index + 1:05d}）"
    v["评价年度"] = 2023
    staff = rng.randint(8, 150)
    v["编制数"], v["实际在职人数"] = staff, max(1, staff + rng.choice((0, 0, 0, 0, 0, -1, -2, 1, 2, 4)))

    for period, factor in (("上年决算", rng.uniform(0.6, 1.0)), ("本年预算", 1.0), ("本年决算", rng.uniform(0.6, 1.08))):
        car_run = _money(rng, 2, 30) * factor
        abroad = 0.0 if rng.random() < 0.8 else _money(rng, 1, 10) * factor
        guests = _money(rng, 0.5, 20) * factor
        car, total = round(car_run, 2), round(car_run, 2) + round(abroad, 2) + round(guests, 2)
        v[f"公车运行维护_{period}"] = round(car_run, 2)
        v[f"公务用车经费_{period}"] = car
        v[f"出国经费_{period}"] = round(abroad, 2) or None
        v[f"公务接待_{period}"] = round(guests, 2)
        v[f"三公经费_{period}"] = round(total, 2)
    v["三公经费_上年预算"] = round(v["三公经费_本年预算"] * rng.uniform(0.9, 1.12), 2)

    initial = _money(rng, 300, 12000)
    v["年初预算"] = initial
    v["上年结转"] = _money(rng, 0, initial * 0.2)
    v["本年追加预算"] = 0 if rng.random() < 0.2 else round(initial * rng.uniform(-0.05, 0.4), 2)
    available = v["上年结转"] + initial + v["本年追加预算"]
    v["年末结余"] = round(available * rng.uniform(0, 0.2), 2)

    if rng.random() < 0.1:  # a new building finished this year
        area = rng.randint(800, 6000)
        v["楼堂馆所_批复规模"], v["楼堂馆所_实际规模"] = area, round(area * rng.uniform(0.9, 1.15))
        cost = _money(rng, 200, 3000)
        v["楼堂馆所_预算投资"], v["楼堂馆所_实际投资"] = cost, round(cost * rng.uniform(0.9, 1.2), 2)

    for period, factor in (("本年预算", 1.0), ("本年决算", rng.uniform(0.85, 1.12))):
        parts = [_money(rng, 5, 80) * factor for _ in range(4)]
        parts = [round(p, 2) for p in parts]
        for item, part in zip(("办公经费", "水电差旅费", "会议培训费", "其他公用经费"), parts):
            v[f"{item}_{period}"] = part
        v[f"公用经费_{period}"] = _maybe_text(rng, round(sum(parts), 2))
    purchase = _money(rng, 10, 800)
    v["政府采购_本年预算"], v["政府采购_本年决算"] = purchase, round(purchase * rng.uniform(0.7, 1.3), 2)

    for i in range(1, 5):
        v[f"管理制度_{i}"] = "是" if rng.random() < 0.9 else "否"
    for i in range(1, 6):
        v[f"信息公开_{i}"] = "是" if rng.random() < 0.9 else "否"
    v["违规事项数"] = rng.choice((0,) * 8 + (1, 2, 3))
    v["重点工作考核得分"], v["重点工作考核总分"] = round(rng.uniform(75, 100), 1), 100
    v["效益得分"] = rng.randint(5, 10)
    v["行政效能"] = rng.choice(("好", "好", "好", "一般", "差"))
    v["满意度"] = round(rng.uniform(0.65, 0.99), 4)
    if rng.random() < 0.5:
        for ind in seed_framework().indicators:
            v[f"自评_{ind.key}"] = ind.weight if rng.random() < 0.8 else round(ind.weight * rng.uniform(0.4, 1), 1)

    roll = rng.random()
    if roll < 0.05:
        kind = "pending"
        v[rng.choice(("满意度", "编制数", "政府采购_本年决算", "行政效能", "年初预算"))] = None
    elif roll < 0.10:
        kind = "error"
        problem = rng.randrange(3)
        if problem == 0:
            v["三公经费_本年预算"] = round(float(str(v["三公经费_本年预算"]).strip(U)) + 5, 2)
        elif problem == 1:
            v["公用经费_本年决算"] = "约一百万"
        else:
            v["项目支出_本年预算"] = -12.5
    elif roll < 0.15:
        kind = "rules"
    else:
        kind = "clean"
    return v, kind


# The edited rule: 在职人员控制率 deducts 1 point (not 0.5) per point over 100% (评分规则!F3).
CUSTOM_RULE_CELLS = {"F3": 1}


def write_department(template: Path, target: Path, values: dict, kind: str) -> None:
    from evalbook.adapters.xlsx import XlsxBook

    with XlsxBook(template) as book:
        book.write_values(values)
        if kind == "rules":
            # no defined name per rule cell: patch the 评分规则 sheet the way write_values does
            book._patch("评分规则").set_cells(CUSTOM_RULE_CELLS)
        book.save(target)


def broken_bytes(kind: str, good: bytes, rng: random.Random) -> tuple[bytes, str]:
    """(content, suffix) of a file that cannot be scored."""
    if kind == "truncated":
        return good[: rng.randint(200, len(good) // 2)], ".xlsm"
    if kind == "csv":
        return "单位名称,总分\n某局,90\n".encode("utf-8"), ".xlsx"
    if kind == "empty":
        return b"", ".xlsx"
    if kind == "no_names":
        from openpyxl import Workbook

        wb = Workbook()
        wb.active["A1"] = "部门自己做的表，不是评价模板"
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue(), ".xlsx"
    if kind == "xls":
        return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096), ".xls"
    return rng.randbytes(5000), ".xlsx"


def _one(job) -> tuple[str, str]:
    template, out, index, seed, broken_share = job
    rng = random.Random(seed * 1_000_003 + index)
    folder = Path(out) / f"县{index // PER_FOLDER + 1:03d}"
    values, kind = department_values(rng, index)
    stem = f"{index + 1:05d}_{DEPARTMENTS[index % len(DEPARTMENTS)]}"
    if rng.random() < broken_share:
        broken = BROKEN_KINDS[index % len(BROKEN_KINDS)]
        good = Path(template).read_bytes()
        data, suffix = broken_bytes(broken, good, rng)
        (folder / (stem + suffix)).write_bytes(data)
        return "broken", broken
    write_department(Path(template), folder / (stem + ".xlsm"), values, kind)
    return "ok", kind


def generate(out: Path, count: int, seed: int = 2024, broken_share: float = 0.02, jobs: int = 1,
             template: Path | None = None) -> dict[str, int]:
    """Write `count` workbooks under `out`; returns how many of each kind were made."""
    from evalbook.build.template import build_template_bytes

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for n in range((count + PER_FOLDER - 1) // PER_FOLDER):
        folder = out / f"县{n + 1:03d}"
        folder.mkdir(exist_ok=True)
        (folder / "~$00000_正在编辑.xlsm").write_bytes(b"\x00" * 165)  # Excel's lock file
        (folder / ".~tmp_未保存.xlsx").write_bytes(b"\x00" * 64)  # a hidden temporary file
    with tempfile.TemporaryDirectory() as tmp:
        if template is None:
            template = Path(tmp) / "template.xlsm"
            template.write_bytes(build_template_bytes())
        jobs_list = [(str(template), str(out), i, seed, broken_share) for i in range(count)]
        if jobs > 1:
            import multiprocessing

            with multiprocessing.Pool(jobs) as pool:
                results = pool.map(_one, jobs_list, chunksize=16)
        else:
            results = [_one(j) for j in jobs_list]
    counts: dict[str, int] = {"files": count, "broken": 0, "ok": 0}
    for status, kind in results:
        counts[status] += 1
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--broken", type=float, default=0.02, help="share of unreadable files")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--template", type=Path, help="a template .xlsm to fill (default: build one)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    counts = generate(args.out, args.count, args.seed, args.broken, args.jobs, args.template)
    print(f"{counts} in {time.perf_counter() - start:.1f} s -> {args.out}")


if __name__ == "__main__":
    main()

"""The 评分表 follows the 评分规则: 分值合计 by formula, and 评价标准 rewritten from an edited rule
(the published wording kept while the rule is the default)."""

from __future__ import annotations

import shutil

from evalbook.adapters.xlsx import XlsxBook
from evalbook.department.framework import seed_framework
from evalbook.department.rules import COLUMNS
from evalbook.workbook import contract as C
from evalbook.workbook import service
from tests.conftest import EXAMPLE


def _scored_with(tmp_path, edit) -> dict:
    path = tmp_path / "改规则.xlsm"
    shutil.copy(EXAMPLE, path)
    rows = [list(r) for r in seed_framework().rule_rows()]
    edit({row[0]: row for row in rows})
    with XlsxBook(path) as book:
        book.write_rows(C.RULES_TABLE, rows, width=len(COLUMNS))
        book.save()
    with XlsxBook(path) as book:
        service.score_book(book)
        book.save()
    with XlsxBook(path) as book:
        keys = seed_framework().keys
        return book.read_values([f"评价标准_{k}" for k in keys] + [C.WEIGHT_TOTAL, C.TOTAL])


def test_an_edited_rule_gets_its_own_wording_and_the_total_follows(tmp_path):
    def edit(rows):
        staff = rows["在职人员控制率"]
        staff[1], staff[2] = 8, "分档计分"
        staff[7] = "<=100%:8；(100%,105%]:6；(105%,110%]:4；(110%,120%]:2；>120%:0"
        sangong = rows["三公经费变动率"]
        sangong[4], sangong[6] = "2%", "不足一步按一步"

    got = _scored_with(tmp_path, edit)
    assert got["评价标准_在职人员控制率"] == ("在职人员控制率：<=100%，计8分；(100%,105%]，计6分；(105%,110%]，计4分；"
                                       "(110%,120%]，计2分；>120%，计0分。")
    assert got["评价标准_三公经费变动率"] == "“三公经费”变动率≤0%，计5分；每超过2个百分点扣0.8分，不足一步按一步计，扣完为止。"
    # untouched rules keep the seed's own sentence
    assert got["评价标准_预算完成率"] == "100%计满分，每低于5%扣2分，扣完为止。"
    assert got[C.WEIGHT_TOTAL] == 103  # 100 + 3 more points for 在职人员控制率
    # 在职人员控制率 95.24% is in the first band (8); 三公经费 2.78% is 2 steps of 2% rounded up: 5 - 1.6
    assert got[C.TOTAL] == 76 + 3 + 0


def test_a_rule_put_back_gets_the_published_wording_back(tmp_path):
    got = _scored_with(tmp_path, lambda rows: None)
    for ind in seed_framework().indicators:
        assert got[f"评价标准_{ind.key}"] == ind.criteria
    assert got[C.WEIGHT_TOTAL] == 100

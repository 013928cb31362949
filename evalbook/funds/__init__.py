"""县级专项资金绩效目标自评表: validating and scoring a department's special funds.

Pure Python like the main engine: values read from the fund blocks' defined names come in
(`FundInput`), scores with 扣分说明, findings and a department summary go out.

    names        the per-fund defined names (`fund_names(n)`), the per-cell keys values travel by
                 (`fund_input_keys`, `fund_output_keys`) and the summary's
    units        numbers with units: 3842米, 95%, 1200万元, and which units convert
    targets      年度指标值/全年完成值: 定量 (≥/≤, number, unit), 时限 (deadlines), 达标 words
    qualitative  the seed's three tiers with their 完成比例
    assess       one row → 完成率 (shared by the engine and INDICATOR_RATIO)
    rules        DEFAULT_FUND_RULE_ROWS for the 评分规则 sheet and their reader
    validation   checks reported as Findings
    scoring      evaluate_fund / evaluate_funds
    aggregate    the department summary across funds
    formulas     exec_rate / indicator_ratio for the UDFs
"""

from .assess import Outcome, assess
from .formulas import FormulaError, exec_rate, indicator_ratio
from .model import FundInput, FundResult, IndicatorRow, IndicatorScore, MoneyRow
from .names import fund_input_keys, fund_input_names, fund_names, fund_output_keys, fund_output_names, summary_names
from .rules import DEFAULT_FUND_RULE_ROWS, FundRules, default_fund_rules, read_fund_rules
from .scoring import FundsReport, evaluate_fund, evaluate_funds

__all__ = [
    "DEFAULT_FUND_RULE_ROWS", "FormulaError", "FundInput", "FundResult", "FundRules",
    "FundsReport", "IndicatorRow", "IndicatorScore", "MoneyRow", "Outcome", "assess", "default_fund_rules",
    "evaluate_fund", "evaluate_funds", "exec_rate", "fund_input_keys", "fund_input_names", "fund_names",
    "fund_output_keys", "fund_output_names",
    "indicator_ratio", "read_fund_rules", "summary_names",
]

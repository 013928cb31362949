"""计算公式: a small, safe expression language over defined names.

An indicator's formula (``实际在职人数/编制数``, ``(上年结转+年初预算+本年追加预算-年末结余)/
(上年结转+年初预算+本年追加预算)``) is parsed once into a tree — never ``eval`` — and the same
tree is

- evaluated in exact fractions, so 10.2 against 10 is exactly 2.00%;
- written out with the accountant's figures for the 扣分说明 (``154.98/124.40``);
- rendered as an Excel formula over the same defined names (``=实际在职人数/编制数``).

Grammar: numbers (``5``, ``0.5``, ``95%``), names, ``+ - * / × ÷``, unary minus, parentheses,
and the functions SUM, MAX, MIN, ABS.  Full-width forms (``（``, ``＋``, ``１``) read as their ASCII
twins.  Problems raise `ExpressionError` with a Chinese message that says where.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator, Mapping

FUNCTIONS = ("SUM", "MAX", "MIN", "ABS")
_OPERATORS = {"+": "+", "-": "-", "*": "*", "/": "/", "×": "*", "÷": "/"}
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


class ExpressionError(ValueError):
    """A formula that cannot be read; the message says what and where, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DivisionByZero(ArithmeticError):
    """The divisor of `node` is zero; the caller names its cells."""

    def __init__(self, node: "Node"):
        super().__init__("division by zero")
        self.divisor = node


# ---- the tree ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Number:
    value: Fraction
    text: str  # as written, for the 扣分说明: "5%", "100"


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Negate:
    operand: "Node"


@dataclass(frozen=True)
class Binary:
    op: str  # one of + - * /
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple["Node", ...]


Node = Number | Name | Negate | Binary | Call


def names(node: Node) -> tuple[str, ...]:
    """Every name the formula reads, in order of first appearance."""
    return tuple(dict.fromkeys(_walk_names(node)))


def _walk_names(node: Node) -> Iterator[str]:
    if isinstance(node, Name):
        yield node.name
    elif isinstance(node, Negate):
        yield from _walk_names(node.operand)
    elif isinstance(node, Binary):
        yield from _walk_names(node.left)
        yield from _walk_names(node.right)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from _walk_names(arg)


def single_name(node: Node) -> str | None:
    """The name when the whole formula is one input (满意度), else None."""
    return node.name if isinstance(node, Name) else None


def is_ratio(node: Node) -> bool:
    return isinstance(node, Binary) and node.op == "/"


# ---- reading ----------------------------------------------------------------------------------

def _name_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_." or unicodedata.category(ch).startswith("L")


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) with kind in number/name/op/open/close/comma/percent."""
    found = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch.isdigit() or (ch == "." and i + 1 < len(text) and text[i + 1].isdigit()):
            start = i
            while i < len(text) and (text[i].isdigit() or text[i] == "."):
                i += 1
            found.append(("number", text[start:i], start))
        elif _name_char(ch):
            start = i
            while i < len(text) and _name_char(text[i]):
                i += 1
            found.append(("name", text[start:i], start))
        elif ch in _OPERATORS:
            found.append(("op", _OPERATORS[ch], i))
            i += 1
        elif ch in "()%,":
            found.append(({"(": "open", ")": "close", "%": "percent", ",": "comma"}[ch], ch, i))
            i += 1
        else:
            raise ExpressionError(f"第{i + 1}个字符“{ch}”不能出现在计算公式中")
    return found


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.peek()
        if token is None:
            raise ExpressionError("计算公式不完整（结尾缺少数字或名称）")
        self.at += 1
        return token

    def parse(self) -> Node:
        if not self.tokens:
            raise ExpressionError("计算公式为空")
        node = self.sum()
        extra = self.peek()
        if extra is not None:
            raise ExpressionError(f"计算公式第{extra[2] + 1}个字符“{extra[1]}”多余或缺少运算符")
        return node

    def sum(self) -> Node:
        node = self.product()
        while (token := self.peek()) and token[0] == "op" and token[1] in "+-":
            self.take()
            node = Binary(token[1], node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while (token := self.peek()) and token[0] == "op" and token[1] in "*/":
            self.take()
            node = Binary(token[1], node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token and token[0] == "op" and token[1] in "+-":
            self.take()
            operand = self.unary()
            return Negate(operand) if token[1] == "-" else operand
        return self.atom()

    def atom(self) -> Node:
        kind, text, position = self.take()
        if kind == "number":
            try:
                value = Fraction(text)
            except ValueError:
                raise ExpressionError(f"计算公式中的数字“{text}”写法有误") from None
            nxt = self.peek()
            if nxt and nxt[0] == "percent":
                self.take()
                return Number(value / 100, text + "%")
            return Number(value, text)
        if kind == "name":
            nxt = self.peek()
            if nxt and nxt[0] == "open":
                return self.call(text, position)
            return Name(text)
        if kind == "open":
            node = self.sum()
            if self.peek() is None:
                raise ExpressionError("计算公式缺少“)”")
            closing = self.take()
            if closing[0] != "close":
                raise ExpressionError(f"计算公式第{closing[2] + 1}个字符处缺少“)”")
            return node
        raise ExpressionError(f"计算公式第{position + 1}个字符“{text}”的位置应为数字、名称或“(”")

    def call(self, function: str, position: int) -> Node:
        upper = function.upper()
        if upper not in FUNCTIONS:
            raise ExpressionError(f"计算公式中的函数“{function}”不可用，可用：{'、'.join(FUNCTIONS)}")
        self.take()  # "("
        args = [self.sum()]
        while (token := self.peek()) and token[0] == "comma":
            self.take()
            args.append(self.sum())
        closing = self.take()
        if closing[0] != "close":
            raise ExpressionError(f"函数{upper}的参数后缺少“)”")
        if upper == "ABS" and len(args) != 1:
            raise ExpressionError("函数ABS只有一个参数")
        return Call(upper, tuple(args))


def parse(text: str) -> Node:
    """The tree of a 计算公式; raises ExpressionError."""
    return _Parser(unicodedata.normalize("NFKC", str(text)).strip()).parse()


# ---- evaluating -------------------------------------------------------------------------------

def evaluate(node: Node, values: Mapping[str, Fraction]) -> Fraction:
    """Exact value; every name must be in `values`; raises DivisionByZero naming the divisor."""
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Name):
        return values[node.name]
    if isinstance(node, Negate):
        return -evaluate(node.operand, values)
    if isinstance(node, Binary):
        left, right = evaluate(node.left, values), evaluate(node.right, values)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        if right == 0:
            raise DivisionByZero(node.right)
        return left / right
    args = [evaluate(a, values) for a in node.args]
    if node.function == "SUM":
        return sum(args, Fraction(0))
    if node.function == "MAX":
        return max(args)
    if node.function == "MIN":
        return min(args)
    return abs(args[0])


# ---- writing ----------------------------------------------------------------------------------

def render(node: Node, leaf: Callable[[Name | Number], str], *, excel: bool = False) -> str:
    """The formula as text with the fewest parentheses; `leaf` writes each name and number."""
    if isinstance(node, (Name, Number)):
        return leaf(node)
    if isinstance(node, Negate):
        inner = render(node.operand, leaf, excel=excel)
        return f"-{inner}" if isinstance(node.operand, (Name, Number, Call)) else f"-({inner})"
    if isinstance(node, Call):
        return f"{node.function}({','.join(render(a, leaf, excel=excel) for a in node.args)})"
    mine = _PRECEDENCE[node.op]
    left = render(node.left, leaf, excel=excel)
    if isinstance(node.left, Binary) and _PRECEDENCE[node.left.op] < mine:
        left = f"({left})"
    right = render(node.right, leaf, excel=excel)
    if isinstance(node.right, Binary) and _PRECEDENCE[node.right.op] <= mine:
        right = f"({right})"  # kept as written: a*(b/c) is one rounding in Excel, a*b/c another
    if isinstance(node.right, Negate):
        right = f"({right})"
    return f"{left}{node.op}{right}"


def as_text(node: Node) -> str:
    """The formula as people write it, names as names: 实际在职人数/编制数."""
    return render(node, lambda leaf: leaf.name if isinstance(leaf, Name) else leaf.text)


def excel_formula(node: Node, reference: Callable[[str], str] = lambda name: name) -> str:
    """An Excel formula (with the leading '=') over the defined names, or what `reference`
    makes of each name (a helper cell, say)."""
    def leaf(item: Name | Number) -> str:
        if isinstance(item, Name):
            return reference(item.name)
        return excel_number(item.value)

    return "=" + render(node, leaf, excel=True)


def excel_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    text = f"{value.numerator / value.denominator!r}"
    if Fraction(text) == value:
        return text
    return f"({value.numerator}/{value.denominator})"

"""Counting the round trips code makes to Excel, on xlwings' remote engine (no Excel needed).

One *call* is one thing the desktop engine sends across to the Excel process:

* reading a property of an xlwings object (`book.sheets`, `rng.value`, `name.refers_to`,
  `sheet.used_range`, `rng.address` …): 1;
* calling a method of one (`sheet.range("A1:C3")`, `names.add(…)`, `rng.clear_contents()`): 1;
* `len(collection)`: 1; `collection[key]`: 1; iterating a collection: 1 for its count, 1 per item;
* assigning a property (`rng.raw_value = rows`, `rng.formula = …`): 1 — except `rng.value = rows`
  with a list, which xlwings turns into a resize and an assignment: 2.

Not calls: `rng.options(…)` (xlwings keeps the options in Python) and anything done with the
plain Python values that come back.  Every object an xlwings call returns is counted in turn.
"""

from __future__ import annotations

import inspect

import xlwings as xw

XLWINGS_TYPES = (xw.App, xw.Book, xw.main.Sheets, xw.Sheet, xw.Range, xw.main.Names, xw.Name)
PURE = {"options"}


class Tally:
    def __init__(self):
        self.calls: list[str] = []

    def __len__(self) -> int:
        return len(self.calls)

    def add(self, what: str, n: int = 1) -> None:
        self.calls.extend([what] * n)


def _unwrap(value):
    return object.__getattribute__(value, "_target") if isinstance(value, Counted) else value


def _wrap(value, tally: Tally):
    return Counted(value, tally) if isinstance(value, XLWINGS_TYPES) else value


class Counted:
    """An xlwings object whose every round trip is added to `tally`."""

    def __init__(self, target, tally: Tally):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_tally", tally)

    def _label(self, what: str) -> str:
        return f"{type(object.__getattribute__(self, '_target')).__name__}.{what}"

    def __getattr__(self, attr):
        target = object.__getattribute__(self, "_target")
        tally = object.__getattribute__(self, "_tally")
        static = inspect.getattr_static(type(target), attr, None)
        value = getattr(target, attr)
        if inspect.isfunction(static) or inspect.ismethod(value):
            def method(*args, **kwargs):
                if attr not in PURE:
                    tally.add(self._label(attr + "()"))
                result = value(*(_unwrap(a) for a in args), **{k: _unwrap(v) for k, v in kwargs.items()})
                return _wrap(result, tally)
            return method
        tally.add(self._label(attr))
        return _wrap(value, tally)

    def __setattr__(self, attr, value):
        target = object.__getattribute__(self, "_target")
        tally = object.__getattribute__(self, "_tally")
        tally.add(self._label(attr + "="), 2 if attr == "value" and isinstance(value, list) else 1)
        setattr(target, attr, _unwrap(value))

    def __len__(self):
        object.__getattribute__(self, "_tally").add(self._label("__len__"))
        return len(object.__getattribute__(self, "_target"))

    def __getitem__(self, key):
        tally = object.__getattribute__(self, "_tally")
        tally.add(self._label("[]"))
        return _wrap(object.__getattribute__(self, "_target")[_unwrap(key)], tally)

    def __call__(self, *args, **kwargs):
        tally = object.__getattribute__(self, "_tally")
        tally.add(self._label("()"))
        return _wrap(object.__getattribute__(self, "_target")(*args, **kwargs), tally)

    def __iter__(self):
        tally = object.__getattribute__(self, "_tally")
        tally.add(self._label("count"))
        for item in object.__getattribute__(self, "_target"):
            tally.add(self._label("item"))
            yield _wrap(item, tally)

    def __bool__(self):
        return True

    def __eq__(self, other):
        return object.__getattribute__(self, "_target") == _unwrap(other)

    def __hash__(self):
        return hash(object.__getattribute__(self, "_target"))


def counted(book) -> tuple[Counted, Tally]:
    tally = Tally()
    return Counted(book, tally), tally

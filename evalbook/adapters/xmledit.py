"""Editing an XML part where a real parser says its elements are, keeping every other byte.

expat (no DTD, no entities: a part that declares one is refused) walks the part and reports
where each element starts; a start tag's own extent and attributes are then read with a lexer
that knows quoting, so a '>' or '/>' inside an attribute value, a comment or CDATA section that
looks like markup, a prefix on every element or single-quoted attributes are all just XML.
Edits are byte ranges replaced in one pass: what evalbook does not change is copied as written —
every namespace prefix, extension and attribute order stays Excel's (or WPS's, or a library's).
"""

from __future__ import annotations

import xml.parsers.expat as expat
from dataclasses import dataclass
from typing import Callable, Iterable


class XmlRefused(ValueError):
    """Not well-formed, or declares a DTD/entities (never expanded here)."""


class Element:
    """One element as the parser met it.  `start` is the byte offset of its start tag; the extent
    of the tag and of the element are worked out only when asked for (most elements never are)."""

    __slots__ = ("qname", "uri", "local", "attrs", "start", "depth", "_data", "_reported", "_tag")

    def __init__(self, qname: str, uri: str | None, local: str, attrs: dict[str, str], start: int,
                 depth: int, data: bytes):
        self.qname = qname  # as written, prefix included
        self.uri = uri
        self.local = local
        # unprefixed attributes by name; prefixed ones keyed 'uri\x01local\x01prefix' (never looked up)
        self.attrs = attrs
        self.start = start
        self.depth = depth  # the root is 1
        self._data = data
        self._reported = -1  # where expat reported the end: after <x/>, or at '</' of </x>
        self._tag: tuple[int, bool] | None = None

    @property
    def prefix(self) -> str:
        """'x:' for <x:c>, '' for <c>: new children written with it land in the same namespace."""
        head, sep, _ = self.qname.rpartition(":")
        return head + sep

    def _start_tag(self) -> tuple[int, bool]:
        if self._tag is None:
            self._tag = tag_end(self._data, self.start)
        return self._tag

    @property
    def tag_end(self) -> int:
        return self._start_tag()[0]

    @property
    def empty(self) -> bool:
        """Written as <x/>."""
        return self._start_tag()[1]

    @property
    def close_start(self) -> int:
        """Where its end tag starts (for <x/>: where it ends)."""
        if self._reported < 0:
            raise ValueError("element not finished")
        return self.tag_end if self.empty else self._reported

    @property
    def end(self) -> int:
        """Just past its end tag."""
        if self.empty:
            return self.tag_end
        return self._data.index(b">", self.close_start) + 1


def is_main(element: Element, local: str, main_ns: str) -> bool:
    # a hand-made part without namespaces is read as the main namespace, as the reader does
    return element.local == local and element.uri in (main_ns, None)


# ---- lexing one start tag (the parser already vouched that it is well-formed) --------------------

_SPACE = b" \t\r\n"


def tag_end(data: bytes, pos: int) -> tuple[int, bool]:
    """(offset just past the start tag at `pos`, whether it is written `<x/>`)."""
    gt = data.find(b">", pos)
    while gt != -1:
        # a '>' ends the tag unless it is inside a quoted value: with one kind of quote in the
        # tag so far, an even count of it says we are outside (the usual case, found in C)
        double, single = data.count(b'"', pos, gt), data.count(b"'", pos, gt)
        if double and single:
            return _tag_end_slowly(data, pos)
        if not (double or single) % 2:
            return gt + 1, data[gt - 1] == 0x2F
        gt = data.find(b">", gt + 1)
    raise XmlRefused("unterminated tag")


def _tag_end_slowly(data: bytes, pos: int) -> tuple[int, bool]:
    quote = None
    i, n = pos + 1, len(data)
    while i < n:
        ch = data[i]
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in (0x22, 0x27):
            quote = ch
        elif ch == 0x3E:  # '>'
            return i + 1, data[i - 1] == 0x2F
        i += 1
    raise XmlRefused("unterminated tag")


@dataclass
class _Attr:
    name: str
    start: int  # of the whitespace before the name, relative to the tag
    value_start: int  # after the opening quote
    value_end: int  # at the closing quote
    quote: bytes


def lex_attrs(tag: bytes) -> tuple[list[_Attr], int, int]:
    """(attributes, offset just past the element name, offset just past the last attribute)."""
    i = 1
    while tag[i] not in _SPACE and tag[i] not in b"/>":
        i += 1
    name_end = last = i
    attrs = []
    while True:
        ws = i
        while tag[i] in _SPACE:
            i += 1
        if tag[i] in b"/>":
            return attrs, name_end, last
        n0 = i
        while tag[i] not in _SPACE and tag[i] != 0x3D:
            i += 1
        name = tag[n0:i].decode("utf-8")
        while tag[i] in _SPACE or tag[i] == 0x3D:
            i += 1
        quote = tag[i:i + 1]
        v0 = i + 1
        v1 = tag.index(quote, v0)
        attrs.append(_Attr(name, ws, v0, v1, quote))
        i = last = v1 + 1


def escape_attr(value: str, quote: bytes = b'"') -> bytes:
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # literal tabs and newlines would be normalised to spaces by the next reader
    text = text.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")
    text = text.replace('"', "&quot;") if quote == b'"' else text.replace("'", "&apos;")
    return text.encode("utf-8")


def escape_text(value: str) -> bytes:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode("utf-8")


def edit_tag(tag: bytes, set_attrs: dict[str, str] | None = None, remove: Iterable[str] = (),
             first: Iterable[str] = (), open_empty: bool = False) -> bytes:
    """The start tag with attributes changed in place: values replaced keep their quotes, new ones
    go after the last attribute (or, if named in `first`, right after the element name), removed
    ones take their leading whitespace with them.  `open_empty` turns <x/> into <x>."""
    set_attrs = dict(set_attrs or {})
    remove = set(remove) - set(set_attrs)
    first = [name for name in first if name in set_attrs]
    attrs, name_end, last = lex_attrs(tag)
    pieces: list[tuple[int, int, bytes]] = []
    for a in attrs:
        if a.name in remove:
            pieces.append((a.start, a.value_end + 1, b""))
        elif a.name in set_attrs:
            pieces.append((a.value_start, a.value_end, escape_attr(set_attrs.pop(a.name), a.quote)))
    head = b"".join(b' %s="%s"' % (n.encode("utf-8"), escape_attr(set_attrs.pop(n))) for n in first)
    if head:
        pieces.append((name_end, name_end, head))
    tail = b"".join(b' %s="%s"' % (n.encode("utf-8"), escape_attr(v)) for n, v in set_attrs.items())
    if tail:
        pieces.append((last, last, tail))
    out = splice(tag, pieces)
    if open_empty and out.endswith(b"/>"):
        out = out[:-2].rstrip(_SPACE) + b">"
    return out


def splice(data: bytes, edits: Iterable[tuple[int, int, bytes]]) -> bytes:
    """`data` with each (start, end, replacement) applied; ranges must not overlap (insertions at
    one offset keep the order they were given in)."""
    ordered = sorted(enumerate(edits), key=lambda e: (e[1][0], e[1][1], e[0]))
    out, pos = [], 0
    for _, (start, end, text) in ordered:
        if start < pos:
            raise ValueError("overlapping edits")
        out.append(data[pos:start])
        out.append(text)
        pos = end
    out.append(data[pos:])
    return b"".join(out)


# ---- walking a part ------------------------------------------------------------------------------

_SEP = "\x01"


def walk(data: bytes, on_start: Callable[[Element, list[Element]], None] | None = None,
         on_end: Callable[[Element, list[Element]], None] | None = None,
         on_text: Callable[[str, list[Element]], None] | None = None) -> None:
    """Call `on_start` for each element (with its ancestors, root first), `on_end` once its end is
    known, `on_text` for character data (CDATA included, references resolved).  `data` is UTF-8:
    the caller decoded whatever the part was written in."""
    # a hand-made part using a prefix it never declared is walked by the names as written; the
    # check is a pass of expat alone (no Python per element), so callbacks never run twice
    _walk(data, on_start, on_end, on_text, namespaces=_namespaces_bound(data))


def _namespaces_bound(data: bytes) -> bool:
    parser = expat.ParserCreate("utf-8", _SEP)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        if exc.code == expat.errors.codes[expat.errors.XML_ERROR_UNBOUND_PREFIX]:
            return False
        raise XmlRefused(str(exc)) from None
    return True


def _refuse(*_args) -> None:
    raise XmlRefused("DTD or entity declaration")


def _walk(data: bytes, on_start, on_end, on_text, namespaces: bool) -> None:
    parser = expat.ParserCreate("utf-8", _SEP if namespaces else None)
    if namespaces:
        parser.namespace_prefixes = True
    parser.ordered_attributes = True
    parser.buffer_text = True
    stack: list[Element] = []

    def start(name: str, flat: list[str]) -> None:
        if namespaces:
            pieces = name.split(_SEP)
            if len(pieces) == 3:
                uri, local, qname = pieces[0], pieces[1], f"{pieces[2]}:{pieces[1]}"
            elif len(pieces) == 2:
                uri, local, qname = pieces[0], pieces[1], pieces[1]
            else:
                uri, local, qname = None, name, name
        else:
            uri, local, qname = None, name.rpartition(":")[2], name
        attrs = dict(zip(flat[::2], flat[1::2])) if flat else {}
        element = Element(qname, uri, local, attrs, parser.CurrentByteIndex, len(stack) + 1, data)
        stack.append(element)
        if on_start is not None:
            on_start(element, stack)

    def finish(name: str) -> None:
        element = stack[-1]
        element._reported = parser.CurrentByteIndex
        if on_end is not None:
            on_end(element, stack)
        stack.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = finish
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    if on_text is not None:
        parser.CharacterDataHandler = lambda text: on_text(text, stack)
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise XmlRefused(str(exc)) from None


def children(data: bytes, path: tuple[str, ...], main_ns: str) -> list[Element]:
    """Every element at `path` (local names from the root, e.g. ('workbook', 'calcPr'))."""
    found = []

    def end(element: Element, stack: list[Element]) -> None:
        if len(stack) == len(path) and all(is_main(e, name, main_ns) for e, name in zip(stack, path)):
            found.append(element)

    walk(data, on_end=end)
    return found


def remove_elements(data: bytes, keep: Callable[[Element], bool], depth: int) -> bytes:
    """`data` without the elements at `depth` that `keep` rejects (each with all it contains)."""
    doomed = []

    def end(element: Element, stack: list[Element]) -> None:
        if element.depth == depth and not keep(element):
            doomed.append((element.start, element.end, b""))

    walk(data, on_end=end)
    return splice(data, doomed) if doomed else data

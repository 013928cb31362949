"""Parsing XML from a department's file: defused (no DTD, no entities), streamed, and stopped at a
documented limit on nesting and size instead of growing until the machine gives out.

The errors carry a Chinese phrase; the caller adds which file and part.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException


class XmlRefused(ValueError):
    """The part cannot be used; str(exc) is a Chinese phrase (e.g. why, which limit)."""


class XmlTooBig(XmlRefused):
    """A limit was reached; the message names it."""


class XmlDeclaresDtd(XmlRefused):
    pass


class XmlMalformed(XmlRefused):
    pass


def iter_limited(source: BinaryIO, max_depth: int, max_elements: int) -> Iterator[tuple[str, object, int]]:
    """(event, element, depth) for "start" and "end" of every element (the root is depth 1).
    Stops with XmlTooBig once nesting passes `max_depth` or more than `max_elements` have started:
    the parser reads 16 KiB at a time, so memory stays bounded by the limits, not the part."""
    depth = started = 0
    try:
        for event, element in SafeET.iterparse(source, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                depth += 1
                started += 1
                if depth > max_depth:
                    raise XmlTooBig(f"中的元素嵌套超过{max_depth}层（evalbook读取XML的上限）")
                if started > max_elements:
                    raise XmlTooBig(f"中的元素超过{max_elements}个（evalbook读取该部件的上限）")
                yield event, element, depth
            else:
                yield event, element, depth
                depth -= 1
    except DefusedXmlException:
        raise XmlDeclaresDtd("含有XML文档类型声明或实体（可能用于窃取本机文件或耗尽内存）") from None
    except (SafeET.ParseError, UnicodeError, LookupError, ValueError) as exc:
        if isinstance(exc, XmlRefused):
            raise
        raise XmlMalformed("不是有效的XML") from None


def parse_limited(source: BinaryIO, max_depth: int, max_elements: int):
    """The root element of a whole part, within the limits."""
    root = None
    for event, element, depth in iter_limited(source, max_depth, max_elements):
        if root is None:
            root = element
    if root is None:
        raise XmlMalformed("不是有效的XML")
    return root

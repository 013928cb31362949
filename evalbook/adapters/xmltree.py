"""A small XML tree that keeps a part as its writer wrote it: prefixes, declarations, comments.

ElementTree renames every prefix (ns0:, ns1:) and drops namespace declarations nothing uses, yet
`mc:Ignorable="x14ac xr"` needs exactly those: Excel refuses a part whose ignorable prefixes are
undeclared.  Here expat runs without namespace processing, so names stay as written (`x:c`) and
`xmlns` declarations are ordinary attributes, kept where they were; prefixes are resolved on demand
by walking up the tree.  Comments, processing instructions and CDATA sections are kept.  A part
that declares a DTD or an entity is refused (nothing is ever expanded).

This is for the structural edits of `add-fund` (whole parts: workbook.xml, a copied sheet, the
relationships and content types), which are small; cell edits go through `sheetxml`.
"""

from __future__ import annotations

import xml.parsers.expat as expat
from typing import Iterator

from evalbook.adapters.package import decode_xml as decode_part

XMLNS = "http://www.w3.org/2000/xmlns/"
XML_NS = "http://www.w3.org/XML/1998/namespace"


class XmlRefused(ValueError):
    """Not well-formed, not decodable, or declaring a DTD or entities."""


# ---- bytes → text ------------------------------------------------------------------------------

def decode_xml(data: bytes) -> str:
    """A part's text, whatever Unicode layout its writer chose (the package's one decoder)."""
    try:
        return decode_part(data)[0]
    except (UnicodeError, LookupError, ValueError):
        raise XmlRefused("无法识别的字符编码") from None


# ---- the tree ----------------------------------------------------------------------------------

class Node:
    __slots__ = ("parent",)


class Text(Node):
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.parent = None
        self.text = text


class CData(Text):
    __slots__ = ()


class Comment(Text):
    __slots__ = ()


class PI(Node):
    __slots__ = ("target", "data")

    def __init__(self, target: str, data: str):
        self.parent = None
        self.target, self.data = target, data


class Element(Node):
    __slots__ = ("name", "attrs", "children")

    def __init__(self, name: str, attrs: dict[str, str] | None = None):
        self.parent = None
        self.name = name  # qualified as written: 'x:c', 'c'
        self.attrs: dict[str, str] = dict(attrs or {})
        self.children: list[Node] = []

    # -- names --

    @property
    def prefix(self) -> str:
        return self.name.rpartition(":")[0]

    @property
    def local(self) -> str:
        return self.name.rpartition(":")[2]

    def namespace_of(self, prefix: str) -> str | None:
        """The namespace `prefix` ('' for the default) is bound to here, or None."""
        if prefix == "xml":
            return XML_NS
        key = f"xmlns:{prefix}" if prefix else "xmlns"
        node = self
        while isinstance(node, Element):
            if key in node.attrs:
                return node.attrs[key] or None
            node = node.parent
        return None

    def prefix_for(self, namespace: str) -> str | None:
        """A prefix bound to `namespace` here and not rebound below its declaration ('' = default)."""
        node = self
        seen: set[str] = set()
        while isinstance(node, Element):
            for key, value in node.attrs.items():
                if key == "xmlns" or key.startswith("xmlns:"):
                    prefix = key[6:]
                    if prefix in seen:
                        continue
                    seen.add(prefix)
                    if value == namespace:
                        return prefix
            node = node.parent
        return None

    @property
    def namespace(self) -> str | None:
        return self.namespace_of(self.prefix)

    def is_(self, namespace: str, local: str) -> bool:
        return self.local == local and self.namespace == namespace

    def attr_namespace(self, name: str) -> str | None:
        prefix, sep, _ = name.rpartition(":")
        if not sep or prefix == "xmlns" or name == "xmlns":
            return None  # unprefixed attributes are in no namespace
        return self.namespace_of(prefix)

    def attrs_in(self, namespace: str) -> list[tuple[str, str, str]]:
        """(qualified name, local name, value) of this element's attributes in `namespace`."""
        return [(k, k.rpartition(":")[2], v) for k, v in self.attrs.items() if self.attr_namespace(k) == namespace]

    # -- structure --

    def elements(self) -> list["Element"]:
        return [c for c in self.children if isinstance(c, Element)]

    def find(self, namespace: str, local: str) -> "Element | None":
        return next((c for c in self.elements() if c.is_(namespace, local)), None)

    def iter(self) -> Iterator["Element"]:
        yield self
        for child in self.elements():
            yield from child.iter()

    def append(self, node: Node) -> Node:
        node.parent = self
        self.children.append(node)
        return node

    def insert(self, index: int, node: Node) -> Node:
        node.parent = self
        self.children.insert(index, node)
        return node

    def remove(self, node: Node) -> None:
        self.children.remove(node)
        node.parent = None

    def index(self, node: Node) -> int:
        return next(i for i, c in enumerate(self.children) if c is node)

    def text(self) -> str:
        return "".join(c.text for c in self.children if isinstance(c, Text) and not isinstance(c, Comment))

    def set_text(self, text: str) -> None:
        for c in [c for c in self.children if isinstance(c, Text) and not isinstance(c, Comment)]:
            self.remove(c)
        self.insert(0, Text(text))

    def new_child_like(self, local: str, attrs: dict[str, str] | None = None) -> "Element":
        """An element named with this element's prefix (so in its namespace)."""
        prefix = self.prefix
        return Element(f"{prefix}:{local}" if prefix else local, attrs)


class Document:
    def __init__(self, before: list[Node], root: Element, after: list[Node], standalone: int):
        self.before, self.root, self.after, self.standalone = before, root, after, standalone


# ---- parsing -----------------------------------------------------------------------------------

def parse(data: bytes) -> Document:
    text = decode_xml(data)
    parser = expat.ParserCreate(encoding="UTF-8")  # the text is re-encoded: its declaration is moot
    parser.buffer_text = True
    parser.ordered_attributes = True
    before: list[Node] = []
    after: list[Node] = []
    stack: list[Element] = []
    root: list[Element] = []
    in_cdata = [False]
    standalone = [-1]

    def outside(node: Node) -> None:
        (after if root else before).append(node)

    def start(name, attributes):
        element = Element(name, dict(zip(attributes[::2], attributes[1::2])))
        if stack:
            stack[-1].append(element)
        elif root:
            raise XmlRefused("多个根元素")
        else:
            root.append(element)
        stack.append(element)

    def end(name):
        stack.pop()

    def chars(data):
        if not stack:
            return  # whitespace between the prolog's parts
        node = CData(data) if in_cdata[0] else Text(data)
        last = stack[-1].children[-1] if stack[-1].children else None
        if type(last) is type(node):
            last.text += data
        else:
            stack[-1].append(node)

    def comment(data):
        node = Comment(data)
        stack[-1].append(node) if stack else outside(node)

    def pi(target, data):
        node = PI(target, data)
        stack[-1].append(node) if stack else outside(node)

    def cdata_start():
        in_cdata[0] = True
        if stack:
            stack[-1].append(CData(""))

    def cdata_end():
        in_cdata[0] = False

    def refuse(*_args):
        raise XmlRefused("含有XML文档类型声明或实体")

    def xml_decl(version, encoding, value):
        standalone[0] = value

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.CommentHandler = comment
    parser.ProcessingInstructionHandler = pi
    parser.StartCdataSectionHandler = cdata_start
    parser.EndCdataSectionHandler = cdata_end
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.XmlDeclHandler = xml_decl
    try:
        parser.Parse(text.encode("utf-8"), True)
    except expat.ExpatError as exc:
        raise XmlRefused(f"不是有效的XML（{expat.ErrorString(exc.code)}）") from None
    if not root:
        raise XmlRefused("不是有效的XML（没有根元素）")
    return Document(before, root[0], after, standalone[0])


# ---- writing -----------------------------------------------------------------------------------

_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;",
                               "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"})


def _write(node: Node, out: list[str]) -> None:
    if isinstance(node, Element):
        out.append("<" + node.name)
        for key, value in node.attrs.items():
            out.append(f' {key}="{value.translate(_ATTR_ESCAPES)}"')
        if not node.children:
            out.append("/>")
            return
        out.append(">")
        for child in node.children:
            _write(child, out)
        out.append(f"</{node.name}>")
    elif isinstance(node, Comment):
        out.append(f"<!--{node.text}-->")
    elif isinstance(node, CData):
        # ']]>' cannot sit inside one section: split it over two
        out.append("<![CDATA[" + node.text.replace("]]>", "]]]]><![CDATA[>") + "]]>")
    elif isinstance(node, Text):
        out.append(node.text.translate(_TEXT_ESCAPES))
    elif isinstance(node, PI):
        out.append(f"<?{node.target} {node.data}?>" if node.data else f"<?{node.target}?>")


def serialize(document: Document) -> bytes:
    """UTF-8, with a declaration that says so (whatever the part was read as)."""
    standalone = {1: ' standalone="yes"', 0: ' standalone="no"'}.get(document.standalone, "")
    out = [f'<?xml version="1.0" encoding="UTF-8"{standalone}?>\n']
    for node in document.before:
        _write(node, out)
    _write(document.root, out)
    for node in document.after:
        _write(node, out)
    return "".join(out).encode("utf-8")

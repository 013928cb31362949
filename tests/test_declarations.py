"""Every part checked for DTDs and entities, in any encoding and however deep in the part
(issue 10, point 5), and zip entries named like paths refused (point 13).

Parts evalbook never parses (the ribbon, comments, document properties) are copied into the
scored workbook, so a declaration there used to travel on; now the workbook is refused (exit 2)
and left as it was.
"""

from __future__ import annotations

import contextlib
import io
import random
import zipfile
from pathlib import Path

import pytest

from evalbook.adapters import package as P
from evalbook.cli import main
from tests.conftest import EXAMPLE

DTD = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
PUBLIC_DTD = '<!DOCTYPE x SYSTEM "file:///etc/hostname">'


def _parts() -> dict[str, bytes]:
    with zipfile.ZipFile(EXAMPLE) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


PARTS = _parts()


def _zip(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _score(tmp_path: Path, data: bytes) -> tuple[int, str, bytes]:
    path = tmp_path / "部门 工作簿.xlsm"
    path.write_bytes(data)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["score", str(path)])
    return code, err.getvalue(), path.read_bytes()


def _with(part: str, text: str, encoding: str = "utf-8") -> bytes:
    return _zip({**PARTS, part: text.encode(encoding)})


def _body(part: str) -> str:
    """The part without its XML declaration (so a new prolog can be put in front)."""
    text = PARTS[part].decode("utf-8")
    return text[text.index("?>") + 2:] if text.startswith("<?xml") else text


def _assert_refused(tmp_path: Path, data: bytes, part: str, fragment: str = "文档类型声明或实体") -> None:
    code, err, after = _score(tmp_path, data)
    assert code == 2, err
    assert fragment in err and part in err, err
    assert after == data


# ---- no window: the whole prolog, the whole part ------------------------------------------------

@pytest.mark.parametrize("part", ["customUI/customUI14.xml", "docProps/core.xml", "xl/comments/comment1.xml"])
def test_doctype_after_more_than_64_kib_of_whitespace(tmp_path, part):
    text = '<?xml version="1.0" encoding="UTF-8"?>' + " \n" * 70_000 + DTD + _body(part)
    _assert_refused(tmp_path, _with(part, text), part)


def test_doctype_after_a_long_comment(tmp_path):
    part = "docProps/core.xml"
    text = '<?xml version="1.0"?><!--' + "注释" * 100_000 + "-->" + PUBLIC_DTD + _body(part)
    _assert_refused(tmp_path, _with(part, text), part)


def test_doctype_megabytes_into_a_vml_drawing(tmp_path):
    part = "xl/drawings/commentsDrawing1.vml"
    filler = random.Random(5).randbytes(3 * 1024 * 1024).hex()  # incompressible, so the ratio guard passes
    text = "<!--" + filler + "-->" + DTD + PARTS[part].decode("utf-8", "ignore")
    _assert_refused(tmp_path, _with(part, text), part)


def test_an_entity_declared_anywhere(tmp_path):
    part = "docProps/app.xml"
    text = PARTS[part].decode().replace("</Properties>", '<!ENTITY x "y"></Properties>')
    _assert_refused(tmp_path, _with(part, text), part)


# ---- encodings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding, bom", [
    ("utf-16-le", b""), ("utf-16-be", b""), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
    ("utf-32-le", b""), ("utf-32-be", b"\x00\x00\xfe\xff"), ("utf-8", b"\xef\xbb\xbf"),
])
def test_doctype_in_any_unicode_layout(tmp_path, encoding, bom):
    part = "docProps/core.xml"
    declared = "UTF-16" if "16" in encoding else "UTF-32" if "32" in encoding else "UTF-8"
    text = f'<?xml version="1.0" encoding="{declared}"?>{DTD}{_body(part)}'
    data = _zip({**PARTS, part: bom + text.encode(encoding)})
    _assert_refused(tmp_path, data, part)


@pytest.mark.parametrize("encoding", ["utf-7", "cp037", "x-unknown-charset"])
def test_encodings_a_scan_cannot_trust_are_refused(tmp_path, encoding):
    part = "customUI/customUI14.xml"
    head = f'<?xml version="1.0" encoding="{encoding}"?>'.encode("ascii")
    rest = DTD + '<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui"/>'
    body = rest.encode(encoding) if encoding != "x-unknown-charset" else rest.encode()
    data = _zip({**PARTS, part: head + body})
    _assert_refused(tmp_path, data, part, "不支持的字符编码")


def test_ebcdic_is_refused(tmp_path):
    part = "docProps/core.xml"
    data = _zip({**PARTS, part: ('<?xml version="1.0" encoding="cp037"?>' + DTD + "<x/>").encode("cp037")})
    _assert_refused(tmp_path, data, part, "不支持的字符编码")


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b""), ("utf-16-be", b"\xfe\xff")])
def test_utf16_parts_without_declarations_are_still_accepted_and_kept(tmp_path, encoding, bom):
    part = "docProps/core.xml"
    text = '<?xml version="1.0" encoding="UTF-16"?>' + _body(part)
    data = _zip({**PARTS, part: bom + text.encode(encoding)})
    code, err, after = _score(tmp_path, data)
    assert code in (0, 1), err
    with zipfile.ZipFile(io.BytesIO(after)) as z:
        assert z.read(part) == bom + text.encode(encoding)  # copied byte for byte


def test_an_old_svg_with_the_public_w3c_doctype_is_still_accepted(tmp_path):
    svg = ('<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
           '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg xmlns="http://www.w3.org/2000/svg"/>')
    code, err, _ = _score(tmp_path, _zip({**PARTS, "xl/media/image9.svg": svg.encode()}))
    assert code in (0, 1), err


def test_an_svg_declaring_an_entity_is_not(tmp_path):
    svg = '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]><svg>&x;</svg>'
    _assert_refused(tmp_path, _zip({**PARTS, "xl/media/image9.svg": svg.encode()}), "xl/media/image9.svg")


def test_binary_parts_are_not_mistaken_for_xml(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"<!DOCTYPE" * 10  # bytes that happen to spell it, inside an image
    code, err, _ = _score(tmp_path, _zip({**PARTS, "xl/media/image9.png": png}))
    assert code in (0, 1), err


def test_the_scan_reads_a_stream_in_pieces():
    for layout in ("utf-8", "utf-16-le"):
        text = "<?xml version='1.0'?>" + " " * (P._SCAN_CHUNK - 3) + "<!DOCTYPE x><x/>"
        data = text.encode(layout)
        assert P.scan_declarations(io.BytesIO(data)) is not None  # the needle straddles two chunks
        assert P.scan_declarations(io.BytesIO(data.replace("DOCTYPE".encode(layout), "doctype".encode(layout)))) \
            is None


# ---- the shared decoder that add-fund and score use ---------------------------------------------

@pytest.mark.parametrize("layout", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gbk"])
def test_decode_xml_reads_every_layout_and_writes_it_back(layout):
    declared = {"utf-16-le": "UTF-16", "utf-16-be": "UTF-16", "utf-8-sig": "UTF-8"}.get(layout, layout.upper())
    text = f'<?xml version="1.0" encoding="{declared}"?><workbook><sheet name="专项资金自评表2"/></workbook>'
    data = text.encode(layout)
    decoded, codec = P.decode_xml(data)
    assert decoded == text
    assert P.decode_xml(P.encode_xml(decoded, codec))[0] == text
    if layout != "utf-16":
        assert P.encode_xml(decoded, codec) == data  # the same bytes when nothing changed


def test_encode_xml_keeps_characters_the_codec_lacks():
    data = P.encode_xml('<?xml version="1.0" encoding="GBK"?><t>水厂😀</t>', "gbk")
    assert b"&#128512;" in data and "水厂".encode("gbk") in data


def test_package_text_of_a_utf16_workbook_part(tmp_path):
    text = PARTS["xl/workbook.xml"].decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    path = tmp_path / "utf16.xlsm"
    path.write_bytes(_zip({**PARTS, "xl/workbook.xml": text.encode("utf-16-le")}))
    package = P.Package(path)
    try:
        decoded, codec = package.text("xl/workbook.xml")
        assert decoded == text and codec == "utf-16-le"
    finally:
        package.close()


# ---- zip entries named like paths (point 13) -----------------------------------------------------

@pytest.mark.parametrize("name", ["../../x", "/abs/x.xml", "xl\\media\\image1.png", "xl/../../x", "C:/x.xml",
                                  "xl/./x.xml"])
def test_zip_entries_named_like_paths_are_refused(tmp_path, name):
    data = _zip({**PARTS, name: b"<x/>"})
    code, err, after = _score(tmp_path, data)
    assert code == 2, err
    assert "绝对路径" in err and after == data
    assert len(err.strip().splitlines()) == 1

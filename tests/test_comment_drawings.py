"""Comment drawings numbered as Excel numbers them: the n-th VML drawing declares idmap n and its
shapes take ids n*1024+1, n*1024+2, … — never the same ids in two drawings."""

from __future__ import annotations

import re
import zipfile

from defusedxml import ElementTree as SafeET

from evalbook.build.package import numbered_drawing
from tests.conftest import EXAMPLE, TEMPLATE

O = "{urn:schemas-microsoft-com:office:office}"
V = "{urn:schemas-microsoft-com:vml}"


def _drawings(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        names = sorted((n for n in z.namelist() if n.endswith(".vml")),
                       key=lambda n: int(re.search(r"(\d+)\.vml$", n).group(1)))
        return {n: z.read(n) for n in names}


def test_each_drawing_has_its_own_id_block():
    drawings = _drawings(EXAMPLE)  # the template has no comments; the example has them on two sheets
    assert len(drawings) == 2 and not _drawings(TEMPLATE)
    seen = set()
    for n, data in enumerate(drawings.values(), start=1):
        root = SafeET.fromstring(data)
        assert [e.get("data") for e in root.iter(f"{O}idmap")] == [str(n)]
        ids = [e.get("id") for e in root.iter(f"{V}shape")]
        assert ids == [f"_x0000_s{1024 * n + k}" for k in range(1, len(ids) + 1)]
        assert not seen & set(ids)
        seen |= set(ids)


def test_numbering_changes_only_the_ids():
    vml = (b"<xml xmlns:v='urn:schemas-microsoft-com:vml' xmlns:o='urn:schemas-microsoft-com:office:office'>"
           b"<!-- <o:idmap data='1'/> --><o:shapelayout v:ext='edit'><o:idmap v:ext='edit' data='1'/></o:shapelayout>"
           b"<v:shapetype id='_x0000_t202'/><v:shape id='_x0000_s1026' type='#_x0000_t202'/>"
           b"<v:shape type='#_x0000_t202' id=\"_x0000_s1027\"></v:shape></xml>")
    out = numbered_drawing(vml, 3)
    assert out == (vml.replace(b"v:ext='edit' data='1'", b"v:ext='edit' data='3'")
                   .replace(b"_x0000_s1026", b"_x0000_s3073").replace(b"_x0000_s1027", b"_x0000_s3074"))

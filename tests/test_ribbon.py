"""The ribbon's icons are Excel's own imageMso ids (an id of another Office program shows no icon)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from evalbook.build.template import ribbon_xml

# ids from Microsoft's Office imageMso list that Excel has; TableInsert is Word's and
# AcceptInvitation Outlook's, so Excel showed blank buttons for them
EXCEL_IMAGE_MSO = {"CalculateNow", "ClearFormats", "TableInsertExcel", "Help"}
NOT_EXCEL = {"TableInsert", "AcceptInvitation"}


def test_every_ribbon_icon_is_an_excel_image_mso():
    root = ET.fromstring(ribbon_xml())
    used = {e.get("imageMso") for e in root.iter() if e.get("imageMso")}
    assert used == EXCEL_IMAGE_MSO
    assert not used & NOT_EXCEL

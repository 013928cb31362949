"""The documented limits on what evalbook reads, each named in the message that refuses a file.

They bound a single-file command (score, check, add-fund; each batch worker) to well under 300 MB
and a few seconds whatever the file holds, and sit far above anything the template produces: its
largest sheet has a few hundred rows and a few thousand cells, its workbook a few hundred names.
"""

from __future__ import annotations

MB = 1024 * 1024

# the package (zip)
MAX_FILE_BYTES = 200 * MB  # the file itself
MAX_TOTAL = 200 * MB  # inflated bytes in all parts
MAX_RATIO = 100  # inflated/compressed, for parts large enough to matter
RATIO_FLOOR = 1 * MB  # parts smaller than this may compress as well as they like
MAX_PARTS = 10_000  # entries in the zip
MAX_DIRECTORY_BYTES = 8 * MB  # the zip's central directory (10,000 entries need about 1 MB)

# any XML part evalbook parses (a parser handles about a million elements a second here)
MAX_XML_DEPTH = 100  # nesting of elements (Excel's deepest parts nest about 12)
MAX_XML_ELEMENTS = 300_000  # elements held in memory at once from one part (styles, workbook, a sheet's row)

# a worksheet evalbook reads (streamed: only cell values are kept)
MAX_SHEET_ROWS = 100_000
MAX_SHEET_CELLS = 200_000
MAX_SHEET_ELEMENTS = 1_000_000  # every element of the sheet, including those already discarded

# the shared-strings table
MAX_SHARED_STRINGS = 300_000
MAX_SHARED_CHARS = 20_000_000  # characters in all shared strings together
MAX_SHARED_ELEMENTS = 1_000_000  # elements of the table (rich text has several per string)

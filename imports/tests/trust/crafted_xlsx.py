"""Workbooks written by hand, to the byte: what an attacker can put in an xlsx that Excel never would."""
import os
import zipfile
from xml.sax.saxutils import escape

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/{strings}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '</Types>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '</Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="{target}"/>'
    '</Relationships>'
)


def _column(n: int) -> str:
    name = ""
    while n:
        n, r = divmod(n - 1, 26)
        name = chr(65 + r) + name
    return name


def write_xlsx(path, rows: list[list[str]], *, extra_strings: int = 0, string_bytes: int = 8,
               dimension: bool = True, strings_part: str = "xl/sharedStrings.xml", noise: bool = False) -> None:
    """An xlsx whose cells are shared strings, plus extra_strings unused ones of string_bytes characters each
    (written streaming, so a big one costs no memory here); with noise, random letters that compress
    only about 1:2, as the reproduction's did (37 MB of file for 180 MB of text)."""
    table: dict[str, int] = {}
    for row in rows:
        for cell in row:
            table.setdefault(cell, len(table))
    width = max(len(r) for r in rows)
    sheet = ['<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">']
    if dimension:
        sheet.append(f'<dimension ref="A1:{_column(width)}{len(rows)}"/>')
    sheet.append("<sheetData>")
    for r, row in enumerate(rows, 1):
        cells = "".join(f'<c r="{_column(c)}{r}" t="s"><v>{table[v]}</v></c>' for c, v in enumerate(row, 1))
        sheet.append(f'<row r="{r}">{cells}</row>')
    sheet.append("</sheetData></worksheet>")
    total = len(table) + extra_strings
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES.format(strings=strings_part))
        z.writestr("_rels/.rels", ROOT_RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.format(target="/" + strings_part))
        z.writestr("xl/worksheets/sheet1.xml", "".join(sheet))
        with z.open(strings_part, "w", force_zip64=True) as out:
            out.write(f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{total}" uniqueCount="{total}">'.encode())
            for text in table:
                out.write(f"<si><t>{escape(text)}</t></si>".encode())
            filler, batch = "x" * string_bytes, []
            letters = bytes.maketrans(bytes(range(256)), (b"abcdefghijklmnop" * 16))
            for i in range(extra_strings):
                if noise:
                    filler = os.urandom(string_bytes).translate(letters).decode()
                batch.append(f"<si><t>{i}{filler}</t></si>")
                if len(batch) == 10_000:
                    out.write("".join(batch).encode())
                    batch = []
            out.write("".join(batch).encode())
            out.write(b"</sst>")

"""An xlsx carrying XML entity definitions (billion laughs, hidden text) is refused, never expanded."""
import io
import zipfile

import openpyxl
import openpyxl.xml
import pytest

from imports.pipeline.reading import FileReadError, inspect_file

LAUGHS = "".join(
    f'<!ENTITY lol{n} "{("&lol%d;" % (n - 1)) * 10}">' for n in range(1, 10)
)
DOCTYPE = f'<!DOCTYPE worksheet [<!ENTITY a "Ada"><!ENTITY lol0 "lol">{LAUGHS}]>'


def _workbook_with_entity(cell_text: str) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["First Name", "Last Name", "District ID"])
    ws.append(["PLACEHOLDER", "Lovelace", "1001"])
    plain = io.BytesIO()
    wb.save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = DOCTYPE.encode() + data.replace(b"PLACEHOLDER", cell_text.encode())
            zout.writestr(item, data)
    return out.getvalue()


def test_openpyxl_parses_workbooks_with_defusedxml():
    assert openpyxl.xml.DEFUSEDXML is True


@pytest.mark.parametrize("cell_text", ["&a;", "&lol9;"], ids=["entity", "billion-laughs"])
def test_a_workbook_with_xml_entities_is_refused_as_unreadable(tmp_path, cell_text):
    path = tmp_path / "upload"
    path.write_bytes(_workbook_with_entity(cell_text))

    with pytest.raises(FileReadError) as exc:
        inspect_file(path, "roster.xlsx")

    assert str(exc.value) == "roster.xlsx: is not a readable Excel workbook"


def test_the_same_workbook_without_entities_is_read(tmp_path):
    # The control: the refusal is about the entities, not the way the workbook was rebuilt.
    path = tmp_path / "upload"
    path.write_bytes(_without_doctype(_workbook_with_entity("Ada")))

    assert inspect_file(path, "roster.xlsx").sample_rows == [["Ada", "Lovelace", "1001"]]


def _without_doctype(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item.filename).replace(DOCTYPE.encode(), b""))
    return out.getvalue()

"""Round three, items 3 and 10: a crafted xlsx cannot stall the web process.

The reproduction: a 37 MB xlsx with 2 data rows and 180 MB of shared strings, inside the size and
ratio caps, took 303 s to upload at 2.1 GB, and every Map Fields view opened it again; a sheet with
no <dimension> skipped the 500-column cap (16,384 columns were accepted).
"""
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.models import ImportFile
from imports.pipeline import reading
from imports.pipeline.reading import MAX_COLUMNS, FileReadError, inspect_file
from imports.tests.factories import wizard_upload
from imports.tests.trust.crafted_xlsx import write_xlsx

pytestmark = pytest.mark.django_db

HEADER = ["First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID"]
ROWS = [HEADER, ["Ada", "Lovelace", "1001", "Student", "5", "", "101"], ["Alan", "Turing", "1002", "Student", "6", "", "101"]]


def test_shared_strings_over_the_size_cap_are_refused_before_the_workbook_is_opened(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "XLSX_MAX_SHARED_STRINGS_BYTES", 1 << 20)  # the rule, at a size a test can write
    path = tmp_path / "upload"
    write_xlsx(path, ROWS, extra_strings=20_000, string_bytes=60)  # about 1.5 MiB of text, squeezed small

    with mock.patch.object(reading, "_open_workbook", side_effect=AssertionError("opened")):
        with pytest.raises(FileReadError) as exc:
            inspect_file(path, "roster.xlsx")

    assert exc.value.code == "xlsx_too_large"
    assert str(exc.value).startswith("roster.xlsx: has too much text for an Excel workbook to be read safely")
    assert "Save it as CSV" in str(exc.value)


def test_too_many_shared_strings_are_refused_by_count_under_any_part_name(tmp_path, monkeypatch):
    monkeypatch.setattr(reading, "XLSX_MAX_SHARED_STRINGS", 5_000)
    path = tmp_path / "upload"
    write_xlsx(path, ROWS, extra_strings=6_000, string_bytes=0, strings_part="xl/elsewhere.xml")

    with pytest.raises(FileReadError) as exc:
        inspect_file(path, "roster.xlsx")

    assert exc.value.code == "xlsx_too_large" and "6,0" in str(exc.value)


def test_the_upload_opens_the_workbook_once_and_map_fields_never(district_admin_client, district, tmp_path):
    path = tmp_path / "roster.xlsx"
    write_xlsx(path, ROWS)
    opened = []
    real = reading._open_workbook

    def counting(*args):
        opened.append(args)
        return real(*args)

    with mock.patch.object(reading, "_open_workbook", counting):
        job = wizard_upload(district_admin_client, district, path.read_bytes(), "roster.xlsx")
        assert len(opened) == 1
        stored = ImportFile.objects.get(job=job)
        assert stored.row_count == 2 and stored.column_count == len(HEADER)
        page = district_admin_client.get(reverse("imports:fields", args=[job.number])).content.decode()

    assert len(opened) == 1  # the page showed the samples kept at upload
    assert "Lovelace" in page and "Turing" in page


def test_a_sheet_without_a_dimension_cannot_skip_the_column_cap(tmp_path):
    path = tmp_path / "upload"
    wide = [[f"C{i}" for i in range(MAX_COLUMNS + 100)], ["x"] * (MAX_COLUMNS + 100)]
    write_xlsx(path, wide, dimension=False)

    with pytest.raises(FileReadError) as exc:
        inspect_file(path, "wide.xlsx")

    assert exc.value.code == "too_many_columns"
    assert f"{MAX_COLUMNS + 100:,} columns" in str(exc.value)


def test_an_ordinary_workbook_without_a_dimension_is_read(tmp_path):
    path = tmp_path / "upload"
    write_xlsx(path, ROWS, dimension=False)

    info = inspect_file(path, "roster.xlsx")

    assert info.column_labels == HEADER and info.row_count == 2
    assert info.sample_rows[1][:2] == ["Alan", "Turing"]


def test_rich_text_prefixed_and_escaped_shared_strings_read_as_excel_shows_them():
    """The on-demand table gives what openpyxl's own parse gave: runs joined, entities decoded, phonetics left out."""
    from imports.pipeline.reading import _SharedStrings

    data = (b'<x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4">'
            b'<x:si><x:t>Ada &amp; Co</x:t></x:si>'
            b'<x:si><x:r><x:t>Love</x:t></x:r><x:r><x:rPr/><x:t>lace</x:t></x:r><x:rPh sb="0" eb="4"><x:t>ignored</x:t></x:rPh></x:si>'
            b'<x:si/><x:si><x:t xml:space="preserve"> &lt;b&gt; </x:t></x:si></x:sst>')
    strings = _SharedStrings(data)

    assert len(strings) == 4
    assert [strings[i] for i in range(4)] == ["Ada & Co", "Lovelace", "", " <b> "]
    with pytest.raises(IndexError):
        strings[4]

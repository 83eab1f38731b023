"""A CSV has the same column cap as an xlsx: a 100,000-column file is refused with a message naming it."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from imports.models import ImportFile, ImportJob
from imports.pipeline.reading import MAX_COLUMNS, FileReadError, inspect_file

WIDE_NAME = "wide.csv"


def _wide_csv(columns: int, rows: int = 2) -> bytes:
    header = ",".join(f"C{i}" for i in range(columns))
    row = ",".join("x" for _ in range(columns))
    return ("\r\n".join([header, *[row] * rows]) + "\r\n").encode()


@pytest.mark.parametrize("columns", [MAX_COLUMNS + 1, 100_000])
def test_a_csv_wider_than_the_cap_is_refused_naming_the_file(tmp_path, columns):
    path = tmp_path / "upload"
    path.write_bytes(_wide_csv(columns))

    with pytest.raises(FileReadError) as exc:
        inspect_file(path, WIDE_NAME)

    assert exc.value.code == "too_many_columns"
    assert str(exc.value) == f"{WIDE_NAME}: is too wide to read: it has {columns:,} columns and the limit is {MAX_COLUMNS:,}"


def test_a_first_line_longer_than_the_read_prefix_is_refused(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(_wide_csv(300_000, rows=1))  # about 2 MB before the first line break

    with pytest.raises(FileReadError) as exc:
        inspect_file(path, WIDE_NAME)

    assert exc.value.code == "too_many_columns"
    assert str(exc.value).startswith(f"{WIDE_NAME}: is too wide to read")


def test_a_csv_at_the_cap_and_excel_padding_are_read(tmp_path):
    path = tmp_path / "upload"
    path.write_bytes(_wide_csv(MAX_COLUMNS))
    assert len(inspect_file(path, "ok.csv").column_labels) == MAX_COLUMNS

    padded = tmp_path / "padded"
    padded.write_bytes(b"First Name,Last Name" + b"," * 2000 + b"\r\nAda,Lovelace" + b"," * 2000 + b"\r\n")
    assert inspect_file(padded, "padded.csv").column_labels == ["First Name", "Last Name"]


@pytest.mark.django_db
def test_uploading_a_100000_column_csv_says_so_and_stores_nothing(district_admin_client):
    resp = district_admin_client.post(
        reverse("imports:start"),
        {"import_type": "user_data", "files": [SimpleUploadedFile(WIDE_NAME, _wide_csv(100_000))]},
    )

    assert resp.status_code == 200
    assert f"{WIDE_NAME}: is too wide to read: it has 100,000 columns and the limit is 500" in resp.content.decode()
    assert (ImportJob.objects.count(), ImportFile.objects.count()) == (0, 0)

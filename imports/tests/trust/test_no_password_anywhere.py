"""No password in any report, page or message, whatever the row's shape.

A row with a missing cell used to be padded, so its password slid into the next column, which
was not masked: errors.csv and the Map Fields samples showed it.
"""
import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from imports.pipeline.issues import ERROR, Issue
from imports.pipeline.masking import HIDDEN, mask_issues, shown_cells
from imports.services.reports import csv_stream, error_report_rows
from imports.tests.factories import FULL_HEADER, SCHOOL_SIS_ID, csv_text, make_import_job, stored_text

pytestmark = pytest.mark.django_db

SLID = "Slid-Into-Next-Column-7!"
KEPT = "Kept-In-Its-Column-9!"


def _row(password: str, district_id: str, **cells) -> list[str]:
    values = {
        "First Name": "Ada", "Last Name": "Lovelace", "District ID": district_id, "User Type": "Student",
        "Grade": "5", "Email Address": "", "School SIS ID": SCHOOL_SIS_ID, "Password": password, **cells,
    }
    return [values.get(h, "") for h in FULL_HEADER]


def _text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8-sig")


def _job(district, admin, tmp_path, rows, name="roster.csv"):
    path = tmp_path / name
    path.write_text(csv_text(rows, header=FULL_HEADER), encoding="utf-8")
    return make_import_job(district, [path], created_by=admin)


def _every_output(client, job) -> str:
    """errors.csv, every wizard page (Map Fields samples, School Mapping, issues, preview) and what is stored."""
    urls = [reverse(f"imports:{step}", args=[job.number]) for step in ("error_report", "fields", "schools", "validate", "actions", "review")]
    return "\n".join(_text(client.get(url)) for url in urls) + stored_text()


def test_the_reproduction_a_12_cell_row_ending_in_a_password(district_admin_client, district_admin, district, school, tmp_path):
    assert len(FULL_HEADER) == 13 and FULL_HEADER[-1] == "Password"
    short = _row(SLID, "1002")[:-2] + [SLID]  # Economically Disadvantaged missing: 12 cells, ends in the password
    job = _job(district, district_admin, tmp_path, [_row(KEPT, "1001"), short])

    report = _text(district_admin_client.get(reverse("imports:error_report", args=[job.number])))
    fields_page = _text(district_admin_client.get(reverse("imports:fields", args=[job.number])))

    assert "Row 3 has 12 cells but the file has 13 columns." in report  # the problem is given...
    assert SLID not in report and "Lovelace" not in report  # ...and none of the row's cells
    assert SLID not in fields_page and KEPT not in fields_page
    assert "Lovelace" in fields_page  # the well-shaped row still gives its samples
    everything = _every_output(district_admin_client, job)
    assert SLID not in everything and KEPT not in everything


def test_any_cell_equal_to_the_rows_password_is_masked(district_admin_client, district_admin, district, school, tmp_path):
    row = _row(KEPT, "1001", **{"Alternate User ID": KEPT, "Email Address": KEPT, "Grade": "Grade 99"})
    job = _job(district, district_admin, tmp_path, [row])

    report = _text(district_admin_client.get(reverse("imports:error_report", args=[job.number])))
    validate_page = _text(district_admin_client.get(reverse("imports:validate", args=[job.number])))

    assert "is not a valid email address" in report and "Grade 99" in report  # the row and its problems are there
    assert KEPT not in report and KEPT not in validate_page
    assert f'""{HIDDEN}"" is not a valid email address.' in report  # as the CSV quotes it
    assert KEPT not in _every_output(district_admin_client, job)


def test_masking_is_pure_and_keeps_what_is_not_a_password():
    cells = ["Ada", "s3cret-pass", "x", "s3cret-pass"]
    assert shown_cells(cells, {3}) == ["Ada", HIDDEN, "x", HIDDEN]
    assert shown_cells(["Ada", "", "x", ""], {3}) == ["Ada", "", "x", HIDDEN]

    issue = Issue(ERROR, "invalid_email", '"s3cret-pass" is not a valid email address.', row=2)
    assert mask_issues([issue], ("s3cret-pass",))[0].message == f'"{HIDDEN}" is not a valid email address.'
    assert mask_issues([issue], ("",)) == [issue]


# --- The property: random ragged rows never show a known password ---

# File values are lower-case and digits; passwords are upper-case after "PW-", so a password can
# only reach an output by being copied from the file, never by chance.
_VALUE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
_PASSWORD = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=8, max_size=12).map(lambda s: f"PW-{s}")
_LIKELY = {
    "User Type": st.sampled_from(["Student", "Staff", "0", "1"]), "Grade": st.sampled_from(["5", "K", "12"]),
    "School SIS ID": st.just(SCHOOL_SIS_ID), "Email Address": st.just(""),
}


@st.composite
def _file_rows(draw, header):
    passwords = draw(st.lists(_PASSWORD, min_size=1, max_size=6, unique=True))
    rows = []
    for n, password in enumerate(passwords):
        cells = [
            password if heading == "Password" else draw(st.one_of(_LIKELY.get(heading, _VALUE), _VALUE))
            for heading in header
        ]
        cells[header.index("District ID")] = f"{n}{draw(_VALUE)}"
        # Mask by value: the row's password copied into other columns.
        for i in draw(st.lists(st.integers(0, len(header) - 1), max_size=2)):
            cells[i] = password
        shape = draw(st.sampled_from(["well-shaped", "missing cells", "extra cells"]))
        if shape == "missing cells":
            for _ in range(draw(st.integers(1, 3))):
                del cells[draw(st.integers(0, len(cells) - 1))]
        elif shape == "extra cells":
            for _ in range(draw(st.integers(1, 3))):
                cells.insert(draw(st.integers(0, len(cells))), draw(st.one_of(_VALUE, st.just(password))))
        rows.append(cells)
    return passwords, rows


@st.composite
def _files(draw):
    header = list(draw(st.permutations(FULL_HEADER)))
    passwords, rows = draw(_file_rows(header))
    return header, passwords, rows


def test_random_ragged_rows_never_show_a_known_password(district_admin_client, district_admin, district, school, tmp_path):
    @hypothesis_settings(
        max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
    )
    @given(case=_files())
    def check(case):
        header, passwords, rows = case
        path = tmp_path / "roster.csv"
        path.write_text(csv_text(rows, header=header), encoding="utf-8")
        job = make_import_job(district, [path], created_by=district_admin)
        assert job.field_mapping.get("password") == "Password"

        outputs = _every_output(district_admin_client, job) + "".join(csv_stream(error_report_rows(job)))

        for password in passwords:
            assert password not in outputs

    check()


def test_a_cell_inserted_before_the_password_of_a_row_ending_blank_shows_no_cell(district_admin_client, district_admin,
                                                                                  district, school, tmp_path):
    """Found by the test above: with its last cell blank, the row looked like Excel's padding, so it was read
    with the password one column to the right, in State User ID, and shown there."""
    header = [h for h in FULL_HEADER if h != "Email Address"] + ["Email Address"]  # the last column blank
    cells = dict(zip(FULL_HEADER, _row(SLID, "1002")))
    row = [cells[h] for h in header]
    at = header.index("Password")
    shifted = row[:at] + ["x"] + row[at:]  # 14 cells, the last blank
    path = tmp_path / "roster.csv"
    path.write_text(csv_text([shifted], header=header), encoding="utf-8")
    job = make_import_job(district, [path], created_by=district_admin)

    report = _text(district_admin_client.get(reverse("imports:error_report", args=[job.number])))

    assert "Row 2 has 14 cells but the file has 13 columns." in report
    assert SLID not in _every_output(district_admin_client, job)

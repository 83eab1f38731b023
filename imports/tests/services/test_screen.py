"""The screen counts a re-import's unchanged rows without making them, and changes no verdict: every count,
problem and preview is what checking each row gives (on SQLite and PostgreSQL alike)."""
import sys
import threading

import pytest
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Concat
from hypothesis import given, settings
from hypothesis import strategies as st

from imports.models import ImportStatus
from imports.pipeline import rows as rows_module
from imports.pipeline.classify import ExistingUser, same_as_stored, same_as_stored_block
from imports.services.sources import ImportOptions, sources_for_job
from imports.services.validation import screen as screen_module
from imports.services.validation import validate_import
from imports.targets.base import LookAhead
from imports.targets.users import UsersTarget
from imports.tests.factories import make_import_job, run_job, staff, student, write_csv
from users.models import CustomGroup, User, UserType
from users.tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


@pytest.fixture
def built(monkeypatch):
    """How many rows were made one by one (built), as validation without the screen makes every row."""
    made = []
    block, columns, one = rows_module.RowBuilder.iter_block, rows_module.RowBuilder.iter_columns, rows_module.RowBuilder.build

    def iter_block(self, raws):
        made.extend(r for r, _ in raws)
        return block(self, raws)

    def iter_columns(self, numbers, cells):
        made.extend(numbers)
        return columns(self, numbers, cells)

    def build(self, row, cells):
        made.append(row)
        return one(self, row, cells)

    monkeypatch.setattr(rows_module.RowBuilder, "iter_block", iter_block)
    monkeypatch.setattr(rows_module.RowBuilder, "iter_columns", iter_columns)
    monkeypatch.setattr(rows_module.RowBuilder, "build", build)
    return made


def _stored(district, school, tmp_path):
    """A district whose users came from a first import, then an admin's account and two users sharing an address."""
    first = [student(str(n), **{"Last Name": f"L{n}"}) for n in range(1, 9)] + [staff("T-1"), staff("T-2")]
    job = run_job(make_import_job(district, [write_csv(tmp_path / "first.csv", first)]))
    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    User.objects.filter(district=district, district_user_id="7").update(is_district_admin=True)
    User.objects.filter(district=district, district_user_id="T-2").update(email="T-1@Springfield.example.org")


def _second_file(tmp_path):
    rows = [
        student("1", **{"Last Name": "L1"}),  # unchanged
        student("2", **{"Last Name": "L2"}),  # unchanged, and repeated below: both rows are errors
        student("3", **{"Last Name": "Changed"}),  # a conflict (Imported Record Wins writes it)
        student("4", **{"Last Name": "L4", "First Name": ""}),  # a required blank that the stored name covers
        student("5", **{"Last Name": "L5", "Grade": "13"}),  # not a grade
        student("6", **{"Last Name": "L6"}),  # unchanged
        student("7", **{"Last Name": "L7"}),  # an administrator's account: refused
        staff("8", **{"Last Name": "L8"}),  # a student in Classworks, staff in the file: a warning
        staff("T-1"),  # unchanged, but another user holds the same address: checked row by row
        student("99"),  # new
        student("2", **{"Last Name": "L2"}),
        staff("T-2", **{"Email Address": ""}),  # a required blank the stored address covers: unchanged
    ]
    return write_csv(tmp_path / "second.csv", rows)


def _validate(job, *, screen: bool):
    issues, marks = [], {}
    result = validate_import(
        district=job.district, sources=sources_for_job(job), options=ImportOptions.from_job(job),
        issue_sink=issues.extend, screen=screen, outcome_sink=lambda at, outcome, rows: marks.update({at + j: outcome.writes for j in range(rows)}),
    )
    shown = sorted((i.file, i.row or 0, i.column, i.code, i.severity, i.message) for i in issues)
    return result.summary(), shown, marks


def test_the_screen_gives_every_count_and_problem_that_checking_each_row_gives(district, school, tmp_path, built):
    _stored(district, school, tmp_path)
    job = make_import_job(district, [_second_file(tmp_path)], validate=False)

    built.clear()
    checked = _validate(job, screen=False)
    every_row = sorted(built)
    built.clear()
    screened = _validate(job, screen=True)

    assert screened == checked
    summary, shown, _ = checked
    assert summary["counts"]["unchanged"] == 5 and summary["counts"]["created"] == 1
    assert {(row, code) for _, row, _, code, _, _ in shown} >= {
        (3, "duplicate_district_id"), (12, "duplicate_district_id"), (6, "invalid_grade"), (8, "admin_account"),
        (9, "user_type_change"),
    }
    # The unchanged rows of District IDs 1, 2 (twice: the duplicate check took their counts back) and 6 were
    # counted without being made. T-1's shared address and T-2's blank (a staff member's address is required,
    # so the stored one must cover it) sent those rows to the checks.
    assert every_row == list(range(2, 14))
    assert sorted(built) == [r for r in range(2, 14) if r not in (2, 3, 7, 12)]


def test_a_run_writes_the_changed_rows_of_a_pass_that_settled_the_others(district, school, tmp_path, built):
    rows = [student(str(n), **{"Last Name": f"L{n}"}) for n in range(1, 6)]
    run_job(make_import_job(district, [write_csv(tmp_path / "first.csv", rows)]))
    rows[2] = student("3", **{"Last Name": "New"})
    job = make_import_job(district, [write_csv(tmp_path / "second.csv", rows + [student("6")])])
    assert job.validation_summary["counts"]["unchanged"] == 4

    job = run_job(job)

    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert (job.counts["created"], job.counts["updated"], job.counts["unchanged"]) == (1, 1, 4)
    assert User.objects.get(district=district, district_user_id="3").last_name == "New"
    assert User.objects.filter(district=district).exclude(is_district_admin=True).count() == 6


def test_a_group_chosen_after_the_pass_still_gets_the_unchanged_rows(district, school, tmp_path):
    rows = [student(str(n)) for n in range(1, 4)]
    run_job(make_import_job(district, [write_csv(tmp_path / "first.csv", rows)]))
    job = make_import_job(district, [write_csv(tmp_path / "second.csv", rows + [student("4")])])
    # Additional Actions comes after Validate File: the group is chosen once the pass has settled rows 1-3.
    group = CustomGroup.objects.create(district=district, name="Grade 5")
    job.custom_group, job.group_members = group, "all"
    job.save(update_fields=["custom_group", "group_members"])

    job = run_job(job)

    assert job.status == ImportStatus.COMPLETED, job.failure_reason
    assert set(group.members.values_list("district_user_id", flat=True)) == {"1", "2", "3", "4"}


_VALUES = st.one_of(st.none(), st.just(""), st.sampled_from(["a", "b", "A"]), st.booleans(), st.integers(0, 2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(_VALUES, min_size=3, max_size=3), st.lists(_VALUES, min_size=3, max_size=3),
                          st.booleans()), max_size=6))
def test_the_block_comparison_says_what_same_as_stored_says_of_each_row(cases):
    names = ["a", "b", "c"]
    positions = {"a": 0, "b": 1}  # "c" was not fetched: only a blank changes nothing
    found, rows = [], []
    for file_values, stored, exists in cases:
        found.append(ExistingUser(1, "k", stored=tuple(stored[:2]), positions=positions) if exists else None)
        rows.append(dict(zip(names, file_values)))
    columns = [[r[n] for r in rows] for n in names]

    assert same_as_stored_block(names, columns, found) == [
        f is not None and same_as_stored(r, f) for r, f in zip(rows, found)]


DEMOGRAPHICS_HEADER = ("DistrictUserID", "Grade", "Gender", "Hispanic or Latino", "English Language Learner",
                       "Special Education", "Economically Disadvantaged", "Migrant")


def test_student_demographics_gets_the_same_verdicts_with_the_screen(district, school, tmp_path, built):
    for n in range(1, 5):
        make_user(district, district_user_id=f"S{n}", grade="5", school=school, gender="F", hispanic_latino=False,
                  limited_english=False, disabled=False, economically_disadvantaged=True, migrant=False)
    User.objects.filter(district=district, district_user_id__in=["S1", "S2"]).update(
        oneroster_sourced_id=Concat(Value("guid-"), "district_user_id"))
    make_user(district, district_user_id="T1", user_type=UserType.STAFF, school=school)
    rows = [
        ["S1", "5", "F", "N", "N", "N", "Y", "N"],  # unchanged
        ["S2", "6", "F", "N", "N", "N", "Y", "N"],  # another grade
        ["S3", "", "", "N", "N", "N", "Y", "N"],  # blanks keep what is stored: unchanged
        ["S4", "5", "F", "N", "N", "N", "Y", "N"],  # unchanged
        ["T1", "5", "F", "N", "N", "N", "N", "N"],  # staff: skipped with a warning
        ["S9", "5", "F", "N", "N", "N", "N", "N"],  # no such student: an error
        ["S4", "5", "F", "N", "N", "N", "Y", "N"],  # S4 again: both rows are errors
        ["guid-S1", "5", "F", "N", "N", "N", "Y", "N"],  # S1 by its sourcedId, unchanged: the same user twice
        ["guid-S2", "5", "F", "N", "N", "N", "Y", "N"],  # S2 by its sourcedId, as stored: the same user twice
    ]
    job = make_import_job(district, [write_csv(tmp_path / "demographics.csv", rows, header=DEMOGRAPHICS_HEADER)],
                          import_type="student_demographics", validate=False)

    built.clear()
    checked = _validate(job, screen=False)
    built.clear()
    screened = _validate(job, screen=True)

    assert screened == checked
    summary, shown, _ = checked
    assert (summary["counts"]["unchanged"], summary["counts"]["updated"], summary["counts"]["skipped"]) == (2, 1, 1)
    assert {(row, code) for _, row, _, code, _, _ in shown} >= {
        (5, "duplicate_district_id"), (8, "duplicate_district_id"), (9, "same_user_twice"), (10, "same_user_twice")}
    # Only S2's new grade, the staff member and the unknown ID were made: the unchanged rows (blanks included),
    # S4 twice and both sourcedIds were counted without, the checks finding the repeats all the same.
    assert sorted(built) == [3, 6, 7]


def test_cells_padded_with_spaces_are_settled_as_the_stored_values_they_match(district, school, tmp_path, built,
                                                                             monkeypatch):
    monkeypatch.setattr(screen_module, "SCREEN_BLOCK", 2)  # blocks after the header's are read whole, cells as they are
    rows = [student(str(n), **{"Last Name": f"L{n}"}) for n in range(1, 6)] + [staff("T-1")]
    run_job(make_import_job(district, [write_csv(tmp_path / "first.csv", rows)]))
    padded = [{k: f"  {v} " if v else " " for k, v in row.items()} for row in rows]
    padded[1]["Last Name"] = " Changed "
    job = make_import_job(district, [write_csv(tmp_path / "padded.csv", padded)], validate=False)

    built.clear()
    screened = _validate(job, screen=True)
    settled_rows = {r for r in range(2, 8)} - set(built)
    checked = _validate(job, screen=False)

    assert screened == checked
    assert screened[0]["counts"]["unchanged"] == 5 and screened[0]["counts"]["updated"] == 1
    assert settled_rows == {2, 4, 5, 6, 7}  # the padded rows that match were counted without being made


def test_a_row_the_reader_refuses_between_unchanged_rows_keeps_its_place_and_the_others_are_still_settled(
        district, school, tmp_path, built):
    rows = [student(str(n), **{"Last Name": f"L{n}"}) for n in range(1, 6)]
    path = write_csv(tmp_path / "first.csv", rows)
    run_job(make_import_job(district, [path]))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(3, lines[3].rstrip("\n") + ",one cell too many\n")  # row 4: more cells than headings
    again = tmp_path / "again.csv"
    again.write_text("".join(lines), encoding="utf-8")
    job = make_import_job(district, [again], validate=False)

    built.clear()
    screened = _validate(job, screen=True)
    made = set(built)
    checked = _validate(job, screen=False)

    assert screened == checked
    summary, shown, _ = screened
    assert summary["counts"]["unchanged"] == 5 and summary["counts"]["error_rows"] == 1
    assert [(row, severity) for _, row, _, _, severity, _ in shown] == [(4, "error")]
    assert made.isdisjoint({2, 3, 5, 6, 7})  # the five unchanged rows around it were counted without being made


def _watch_look_ups(monkeypatch) -> list[int]:
    """The thread each look-up of the screen ran on."""
    threads, lookup = [], UsersTarget.lookup

    def watched(self, **kwargs):
        threads.append(threading.get_ident())
        return lookup(self, **kwargs)

    monkeypatch.setattr(UsersTarget, "lookup", watched)
    return threads


def _other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_each_next_block_is_looked_up_on_a_connection_of_its_own_and_no_verdict_changes(
        district, school, tmp_path, built, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the look-ahead runs only on PostgreSQL")
    rows = [student(str(n), **{"Last Name": f"L{n}"}) for n in range(1, 13)]
    run_job(make_import_job(district, [write_csv(tmp_path / "first.csv", rows)]))
    rows[4] = student("5", **{"Last Name": "Changed"})
    rows[9] = student("2", **{"Last Name": "L2"})  # a District ID given twice: both rows are errors
    job = make_import_job(district, [write_csv(tmp_path / "second.csv", rows + [student("13")])], validate=False)
    monkeypatch.setattr(screen_module, "SCREEN_BLOCK", 3)  # five blocks: four are looked up ahead
    threads = _watch_look_ups(monkeypatch)
    sessions, interval = _other_sessions(), sys.getswitchinterval()

    built.clear()
    screened = _validate(job, screen=True)
    made = set(built)
    checked = _validate(job, screen=False)

    assert screened == checked
    assert screened[0]["counts"]["unchanged"] == 9 and screened[0]["counts"]["updated"] == 1
    assert len([t for t in threads if t != threading.get_ident()]) >= 4
    assert made.isdisjoint({2, 3, 4, 5, 7, 8, 9, 10, 12})  # the unchanged rows were still counted without being made
    assert _other_sessions() == sessions  # the look-ahead's connection was closed with the pass
    assert sys.getswitchinterval() == interval  # and the interpreter's switch interval is as it was

    monkeypatch.setattr(screen_module, "SCREEN_BLOCK", 2000)  # one block: nothing to ask ahead
    threads.clear()
    assert _validate(job, screen=True) == checked
    assert set(threads) == {threading.get_ident()}  # no thread and no connection for a small file


def test_inside_a_transaction_the_look_ups_stay_on_the_callers_connection_which_sees_its_uncommitted_users(
        district, school, tmp_path, built, monkeypatch):
    rows = [student(str(n), **{"Last Name": f"L{n}"}) for n in range(1, 7)]
    run_job(make_import_job(district, [write_csv(tmp_path / "first.csv", rows)]))  # not committed: the test's transaction
    job = make_import_job(district, [write_csv(tmp_path / "second.csv", rows)], validate=False)
    monkeypatch.setattr(screen_module, "SCREEN_BLOCK", 2)
    threads = _watch_look_ups(monkeypatch)

    built.clear()
    summary, _, _ = _validate(job, screen=True)

    assert summary["counts"]["unchanged"] == 6
    assert built == [] and set(threads) == {threading.get_ident()}


def _one() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_passes_overlapping_in_one_process_leave_the_switch_interval_as_they_found_it():
    if connection.vendor != "postgresql":
        pytest.skip("the look-ahead runs only on PostgreSQL")
    before = sys.getswitchinterval()
    first, second = LookAhead(), LookAhead()
    assert first.ask(_one)() == 1 and second.ask(_one)() == 1

    first.close()
    assert sys.getswitchinterval() == pytest.approx(LookAhead.SWITCH_INTERVAL_S)  # the second pass still runs
    second.close()
    second.close()  # a second close changes nothing

    assert sys.getswitchinterval() == before

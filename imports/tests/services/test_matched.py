"""A row that finds a user an earlier row already found by its other key (Student Demographics: a sourcedId and
a District ID) is an error naming the earlier row, however far back that row is and whichever way the pass
reads it (every row checked, unchanged rows screened, the run's re-check without a duplicate search)."""
import pytest
from django.db.models import Value
from django.db.models.functions import Concat

from imports.services import duplicates
from imports.services.sources import ImportOptions, sources_for_job
from imports.services.validation import ERROR_SAME_USER, checking, validate_import
from imports.services.validation.matched import MatchedUsers
from imports.tests.factories import make_import_job, write_csv
from imports.types.demographics import ERROR_NO_STUDENT
from users.models import User
from users.tests.factories import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]
HEADER = ("DistrictUserID", "Grade", "Gender", "Hispanic or Latino", "English Language Learner", "Special Education",
          "Economically Disadvantaged", "Migrant")
AS_STORED = ["5", "F", "N", "N", "N", "Y", "N"]


@pytest.fixture
def one_row_batches(monkeypatch):
    """Every row in a batch of its own, and staged at once: the first row is always an earlier batch's."""
    monkeypatch.setattr(checking, "BATCH_ROWS", 1)
    monkeypatch.setattr(duplicates, "FLUSH_ROWS", 1)


@pytest.fixture
def demographics_job(district, school, tmp_path):
    for n in range(1, 5):
        make_user(district, district_user_id=f"S{n}", grade="5", school=school, gender="F", hispanic_latino=False,
                  limited_english=False, disabled=False, economically_disadvantaged=True, migrant=False)
    User.objects.filter(district=district, district_user_id__in=["S1", "S2"]).update(
        oneroster_sourced_id=Concat(Value("guid-"), "district_user_id"))
    rows = [
        ["S1", *AS_STORED],  # row 2: unchanged
        ["S2", "6", *AS_STORED[1:]],  # row 3: another grade
        ["S3", *AS_STORED],  # row 4
        ["guid-S1", *AS_STORED],  # row 5: S1 again, by its sourcedId, unchanged
        ["S9", *AS_STORED],  # row 6: no such student
        ["guid-S2", "7", *AS_STORED[1:]],  # row 7: S2 again, changed
        ["guid-S1", *AS_STORED],  # row 8: S1 a third time: still row 2 is named
    ]
    path = write_csv(tmp_path / "demographics.csv", rows, header=HEADER)
    return make_import_job(district, [path], import_type="student_demographics", validate=False)


def _validate(job, **kwargs):
    issues = []
    result = validate_import(district=job.district, sources=sources_for_job(job), options=ImportOptions.from_job(job),
                             issue_sink=issues.extend, **kwargs)
    return result, [(i.row, i.code, i.message) for i in issues]


def _same_user(row: int, first: int, district_id: str) -> tuple:
    return row, "same_user_twice", ERROR_SAME_USER.format(file="demographics.csv", row=first, district_id=district_id)


@pytest.mark.parametrize("screen", [False, True])
def test_a_user_found_again_batches_later_is_an_error_on_that_row_naming_the_first(demographics_job, one_row_batches, screen):
    result, issues = _validate(demographics_job, screen=screen)

    # Rows 5, 7 and 8 each name the row that first found their user, in file order among the rows' problems
    # as before; the duplicate check's problems come last, as they always have.
    assert issues == [
        _same_user(5, 2, "S1"), (6, "no_student", ERROR_NO_STUDENT.format(district_id="S9")), _same_user(7, 3, "S2"),
        _same_user(8, 2, "S1"),
        (5, "duplicate_district_id", 'District ID "guid-S1" appears more than once in the file (also row 8).'),
        (8, "duplicate_district_id", 'District ID "guid-S1" appears more than once in the file (also row 5).'),
    ]
    counts = result.counts
    assert (counts["error_rows"], counts["errors"], counts["updated"], counts["unchanged"]) == (4, 6, 1, 2)


def test_the_runs_check_without_a_duplicate_search_still_names_the_first_row(demographics_job, one_row_batches):
    _, searched = _validate(demographics_job)

    _, issues = _validate(demographics_job, check_duplicates=False)

    assert issues == [i for i in searched if not i[1].startswith("duplicate_")]
    assert _same_user(8, 2, "S1") in issues


def test_each_user_is_one_bit_whatever_its_id():
    ids = [0, 7, 8, 65_535, 65_536, 2**31 - 1, 2**40 + 3]
    matched = MatchedUsers(staged=None)

    assert [matched.first(i) for i in ids] == [True] * len(ids)
    assert [matched.first(i) for i in ids] == [False] * len(ids)
    assert matched.first(9) and matched.first(65_537)

"""A file in District ID order is looked up a range at a time (PostgreSQL), and so are the usernames made for its new
people: each row still finds exactly its user, and a username taken anywhere is still found.

The range is only a shortcut: a key of the run's shape that it misses is new, any other key it misses is probed,
and a range that holds far more users than keys (other ID shapes sorted in between) is not used.
"""
import pytest
from django.db import connection

from imports.targets import base
from imports.tests.factories import SCHOOL_SIS_ID, make_import_job, run_job, student, write_csv
from users.models import User
from users.tests.factories import make_district, make_school, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_safety_hold")]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the range look-up runs on PostgreSQL")


def _import(district, tmp_path, name, rows):
    return run_job(make_import_job(district, [write_csv(tmp_path / name, rows)]))


def test_new_people_between_stored_ones_are_created_and_the_stored_ones_left_unchanged(district, school, tmp_path):
    _import(district, tmp_path, "evens.csv", [student(f"{i:06d}", **{"Last Name": f"S{i}"}) for i in range(2, 61, 2)])

    every = [student(f"{i:06d}", **{"Last Name": f"S{i}"}) for i in range(1, 61)]
    every[9]["Last Name"] = "Changed"  # 000010, a stored user
    job = _import(district, tmp_path, "every.csv", every)

    assert (job.counts["created"], job.counts["updated"], job.counts["unchanged"]) == (30, 1, 29)
    assert User.objects.get(district=district, district_user_id="000010").last_name == "Changed"
    assert User.objects.filter(district=district, district_user_id__regex=r"^\d{6}$").count() == 60


def test_a_range_crowded_with_other_id_shapes_still_finds_each_user(district, school, tmp_path):
    plain = [student(f"{i:06d}", **{"Last Name": f"S{i}"}) for i in range(1, 11)]
    lettered = [student(f"{i:06d}{x}", **{"Last Name": f"L{i}{x}"}) for i in range(1, 10) for x in "AB"]
    _import(district, tmp_path, "all.csv", plain + lettered)

    plain[4]["Last Name"] = "Changed"
    job = _import(district, tmp_path, "plain.csv", plain)  # 000001..000010: 18 lettered IDs sort in between

    assert (job.counts["created"], job.counts["updated"], job.counts["unchanged"]) == (0, 1, 9)
    assert User.objects.get(district=district, district_user_id="000005").last_name == "Changed"
    assert User.objects.get(district=district, district_user_id="000005A").last_name == "L5A"


def test_another_districts_users_in_the_same_range_are_never_matched(district, school, tmp_path):
    other_district = make_district(name="Shelbyville", slug="shelbyville")
    other_district.change_threshold_percent = 100
    other_district.save(update_fields=["change_threshold_percent"])
    make_school(other_district, sis_id=SCHOOL_SIS_ID, name="Shelbyville Elementary")
    other = [student(f"{i:06d}", **{"Last Name": f"Other{i}"}) for i in range(1, 21)]
    _import(other_district, tmp_path, "other.csv", other)

    job = _import(district, tmp_path, "mine.csv", [student(f"{i:06d}", **{"Last Name": f"Mine{i}"}) for i in range(1, 21)])

    assert job.counts["created"] == 20
    assert set(User.objects.filter(district=other_district).values_list("last_name", flat=True)) == {
        f"Other{i}" for i in range(1, 21)
    }


def test_new_people_of_the_files_id_shape_are_known_new_from_the_range_without_a_probe_each(district, school, tmp_path,
                                                                                             monkeypatch):
    probed = []
    probe = base._district_rows_matching

    def counting(model, *, match, keys, **kwargs):
        if match == "u.district_user_id":
            probed.extend(keys)
        return probe(model, match=match, keys=keys, **kwargs)

    monkeypatch.setattr(base, "_district_rows_matching", counting)
    _import(district, tmp_path, "first.csv", [student(f"{i:06d}", **{"Last Name": f"S{i}"}) for i in range(1, 41, 3)])
    probed.clear()

    rows = [student(f"{i:06d}", **{"Last Name": f"S{i}"}) for i in range(1, 41)] + [student("000020X")]
    job = _import(district, tmp_path, "every.csv", rows)

    assert (job.counts["created"], job.counts["unchanged"]) == (27, 14)
    assert User.objects.filter(district=district).exclude(is_district_admin=True).count() == 41
    # Only the ID of another shape, which another collation could order outside the range, was probed.
    assert set(probed) == {"000020X"}


def test_made_up_usernames_of_a_run_are_checked_by_range_and_one_taken_elsewhere_still_gets_a_suffix(
        district, school, tmp_path, monkeypatch):
    other_district = make_district(name="Shelbyville", slug="shelbyville")
    make_user(other_district, username=f"{district.slug.upper()}.000007")  # taken, whatever its case
    make_user(other_district, username=f"{district.slug}.000007b")  # another shape inside the run
    probed = []
    probe = base._lower_rows_matching

    def counting(model, *, keys, **kwargs):
        probed.extend(keys)
        return probe(model, keys=keys, **kwargs)

    monkeypatch.setattr(base, "_lower_rows_matching", counting)

    job = _import(district, tmp_path, "new.csv", [student(f"{i:06d}") for i in range(1, 21)])

    assert job.counts["created"] == 20
    usernames = dict(User.objects.filter(district=district).values_list("district_user_id", "username"))
    assert usernames["000007"] == f"{district.slug}.000007-2"
    assert usernames["000008"] == f"{district.slug}.000008"
    assert probed == []  # every made-up username was of the run's shape

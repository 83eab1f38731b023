"""Two admins on one draft: each wizard step saves only what it changed, so neither undoes the other's step."""
import pytest

from imports.models import ImportJob
from imports.services import jobs
from imports.tests.factories import HEADER, make_import_job, student, write_csv

pytestmark = pytest.mark.django_db

HEADER_WITH_MIDDLE = (*HEADER, "Second Given Name")


@pytest.fixture
def draft(district, school, tmp_path):
    path = write_csv(tmp_path / "roster.csv", [student("1001", **{"Second Given Name": "Byron"})], header=HEADER_WITH_MIDDLE)
    job = make_import_job(district, [path], validate=False)
    assert job.conflict_policy == "imported" and not job.email_staff and "middle_name" not in job.field_mapping
    return job


def _choose_actions(job):
    jobs.import_job_set_actions(
        job=job, conflict_policy="existing", password_policy="overwrite", custom_group_id=None,
        group_members="students", email_staff=True,
    )


def _match_middle_name(job):
    jobs.import_job_set_field_mapping(
        job=job, field_mapping={**job.field_mapping, "middle_name": "Second Given Name"}, fixed_values=dict(job.fixed_values),
        column_labels=list(HEADER_WITH_MIDDLE),
    )


@pytest.mark.parametrize("first_step", ["actions", "fields"])
def test_two_admins_changing_different_steps_keep_both_changes(draft, first_step):
    # Both admins opened the draft before either saved.
    admin_a = ImportJob.objects.get(id=draft.id)
    admin_b = ImportJob.objects.get(id=draft.id)
    steps = [(admin_a, _choose_actions), (admin_b, _match_middle_name)]
    if first_step == "fields":
        steps.reverse()

    for job, step in steps:
        step(job)

    saved = ImportJob.objects.get(id=draft.id)
    assert saved.field_mapping["middle_name"] == "Second Given Name"
    assert (saved.conflict_policy, saved.password_policy, saved.email_staff) == ("existing", "overwrite", True)


def test_a_stale_draft_never_puts_back_a_school_mapping_another_admin_changed(draft, school, district):
    from users.tests.factories import make_school

    other = make_school(district, sis_id="202", name="Other Elementary")
    admin_a = ImportJob.objects.get(id=draft.id)
    admin_b = ImportJob.objects.get(id=draft.id)

    jobs.import_job_set_school_mapping(job=admin_a, school_mapping={"101": other.id}, file_values=["101"])
    _choose_actions(admin_b)

    saved = ImportJob.objects.get(id=draft.id)
    assert saved.school_mapping == {"101": other.id}
    assert saved.conflict_policy == "existing"


def test_a_step_saved_after_another_admin_submitted_the_draft_is_refused(draft, no_safety_hold):
    from imports.services.apply import import_job_validate

    import_job_validate(job=draft)
    stale = ImportJob.objects.get(id=draft.id)
    jobs.import_job_submit(job=ImportJob.objects.get(id=draft.id), dispatch=False)

    with pytest.raises(jobs.ImportError_, match=jobs.ERROR_NOT_DRAFT):
        _choose_actions(stale)

    saved = ImportJob.objects.get(id=draft.id)
    assert saved.status == "scheduled"
    assert (saved.conflict_policy, saved.email_staff) == ("imported", False)

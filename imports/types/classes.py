"""Classes: one row per enrollment (a teacher or a student in a class), matched by Class SIS ID.

It writes to the classes tables through its own write target (imports/targets/classes.py), not to
users: the District ID finds the teacher or student, who must already be in Classworks.
"""
from ..pipeline.class_rows import ROLE_STUDENT, ROLE_TEACHER  # noqa: F401  (importable here as before)
from ..pipeline.fields import Field
from ..pipeline.normalize import Invalid, Rule, identifier, looked_up, text
from .spec import ImportSpec
from .steps import WizardStep

ROSTER_ADD = "add"
ROSTER_REPLACE = "replace"
ROSTER_POLICIES = ((ROSTER_ADD, "Add to each class"), (ROSTER_REPLACE, "Replace each class's roster with the file's"))

_ROLE_WORDS = {
    "": ROLE_STUDENT, "student": ROLE_STUDENT, "learner": ROLE_STUDENT, "pupil": ROLE_STUDENT,
    "teacher": ROLE_TEACHER, "staff": ROLE_TEACHER, "instructor": ROLE_TEACHER, "primaryteacher": ROLE_TEACHER,
    "coteacher": ROLE_TEACHER, "aide": ROLE_TEACHER, "administrator": ROLE_TEACHER,
}


def roster_role(text_: str) -> str | Invalid:
    """teacher or student; blank is student. OneRoster's and SDS's words for a teacher are teachers."""
    key = "".join(ch for ch in text_.casefold() if ch.isalnum())
    role = _ROLE_WORDS.get(key)
    if role is None:
        return Invalid("invalid_role", f'Role "{text_.strip()}" is not teacher or student.',
                       "Write teacher or student (blank means student).")
    return role


def _school_unmatched(value: str) -> Invalid:
    return Invalid(
        "school_unmapped", f'School "{value}" is not matched to a school of the district.',
        "Match it on the School Mapping step (import_users --school-map VALUE=SIS_ID), or add the school under Manage Classworks → Schools.",
    )


CLASSES = ImportSpec(
    import_type="classes",
    label="Classes",
    command_name="classes",
    match_field="class_sis_id",
    fields=(
        Field("class_sis_id", "Class SIS ID", True, ("Section ID", "Section SIS ID", "classSourcedId", "Class ID", "Section"),
              column="sis_id",
              rule=identifier(64, blank=Invalid("class_required", "Class SIS ID is blank.", "Give every row its class's SIS ID."))),
        Field("class_name", "Class Name", True, ("Section Name", "title", "Class Title", "Course Section"), column="name",
              rule=text(255, blank=Invalid("class_name_required", "Class Name is blank.", "Give every row its class's name."))),
        Field("school_sis_id", "School SIS ID", True, ("School", "School ID", "schoolSourcedId", "Building"), column="school_id",
              rule=looked_up("schools", unmatched=_school_unmatched,
                             blank=Invalid("school_required", "School SIS ID is blank.", "Give every class the SIS ID/code of its school."))),
        Field("district_id", "District ID", True, ("userSourcedId", "SIS ID", "Student ID", "Teacher ID", "User ID"),
              column="district_user_id",
              rule=identifier(64, blank=Invalid("district_id_required", "District ID is blank.",
                                                "Give every row the District ID of the teacher or student."))),
        Field("role", "Role", False, ("Enrollment Role", "User Type"), rule=Rule(parse=roster_role)),
        Field("course_name", "Course Name", False, ("Course", "Course Title"), rule=text(255)),
        Field("subject", "Subject", False, ("Subjects", "Subject Area"), rule=text(128)),
        Field("term_name", "Term", False, ("Term Name", "Session", "Academic Session"), rule=text(128)),
    ),
    steps=(WizardStep.UPLOAD, WizardStep.MAP_FIELDS, WizardStep.MAP_SCHOOLS, WizardStep.VALIDATE, WizardStep.ACTIONS,
           WizardStep.REVIEW),
    options=("roster_policy",),
    sample_rows=(
        {"class_sis_id": "MATH5-A", "class_name": "Math 5 A", "school_sis_id": "101", "district_id": "T-2001", "role": "teacher",
         "course_name": "Mathematics 5", "subject": "Math", "term_name": "2026-27"},
        {"class_sis_id": "MATH5-A", "class_name": "Math 5 A", "school_sis_id": "101", "district_id": "000123", "role": "student",
         "course_name": "Mathematics 5", "subject": "Math", "term_name": "2026-27"},
        {"class_sis_id": "MATH5-A", "class_name": "Math 5 A", "school_sis_id": "101", "district_id": "000124",
         "course_name": "Mathematics 5", "subject": "Math", "term_name": "2026-27"},
    ),
    sample_file_name="classworks_classes_sample.csv",
)

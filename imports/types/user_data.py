"""User Data: students and staff, created or updated by District ID. The first import type."""
from ..pipeline.fields import Field
from ..pipeline.normalize import (
    STAFF, STUDENT, Invalid, birth_date, choice_of_gender, choice_of_user_type, email_address, grade_level,
    hispanic_or_latino, identifier, looked_up, password, races, sign_in_name, text, yes_no,
)
from .spec import ImportSpec
from .steps import WizardStep


def _is_student(values: dict) -> bool:
    return values.get("user_type") == STUDENT


def _is_staff(values: dict) -> bool:
    return values.get("user_type") == STAFF


def _school_unmatched(value: str) -> Invalid:
    return Invalid(
        "school_unmapped", f'School "{value}" is not matched to a school of the district.',
        "Match it to a school on the School Mapping step, or add it there with Create school.",
    )


def _blank(key: str, message: str, suggestion: str) -> Invalid:
    return Invalid(f"{key}_required", message, suggestion)


USER_DATA = ImportSpec(
    import_type="user_data",
    label="User Data",
    command_name="users",
    match_field="district_id",
    # One line per field: key, heading, required, aliases, then its rule and where it is stored.
    # User Type, Grade, Gender, Ethnicity, Race and the Y/N flags are coded: their rules carry the Classworks
    # values and the suggestion for a file's own codes (normalize.Coding), which value mapping lists and applies.
    # A rule's max_length is the users.User column's size (a test holds them together).
    fields=(
        Field("first_name", "First Name", True, ("givenName", "First", "FirstName", "Student First Name", "Legal First Name", "fname"), hold=True,
              rule=text(150, blank=_blank("first_name", "First Name is blank.", "Every user needs a First Name."))),
        Field("middle_name", "Middle Name", False, ("middleName", "Middle", "Middle Initial", "MI"), hold=True,
              rule=text(150)),
        Field("last_name", "Last Name", True, ("familyName", "Last", "Surname", "Student Last Name", "Legal Last Name", "lname"), hold=True,
              rule=text(150, blank=_blank("last_name", "Last Name is blank.", "Every user needs a Last Name."))),
        Field("district_id", "District ID", True, ("identifier", "sourcedId", "Student ID", "Staff ID", "Student Number", "Local ID", "User ID", "SIS ID", "Student_Number", "Employee ID"),
              column="district_user_id",
              rule=identifier(64, blank=_blank("district_id", "District ID is blank.", "Every user needs the ID your SIS gives them."))),
        Field("user_type", "User Type", True, ("role", "Type", "Role Type", "User Role"), hold=True,
              fixed_choices=(("", "—"), (STUDENT, "Student"), (STAFF, "Staff")),
              rule=choice_of_user_type(blank=_blank("user_type", "User Type is blank.", "Use 0 or Student for students, 1 or Staff for staff."))),
        Field("grade", "Grade", True, ("grades", "Grade Level", "Grade_Level", "Current Grade"),
              rule=grade_level(only_if=_is_student, reads=("user_type",), blank=_blank("grade", "Grade is blank for a student.", "Give every student a grade: Pre-K, K or 1-12."))),
        Field("email", "Email Address", True, ("email", "E-mail", "Email Address", "Student Email", "Staff Email", "Mail"),
              fixed_choices=(("", "—"), ("__blank__", "Leave blank")),
              rule=email_address(254, required_if=_is_staff, reads=("user_type",), blank=Invalid(
                  "email_required_for_staff", "Email Address is blank for a staff member.",
                  "Staff sign in and get their login information by email: add their address."))),
        Field("school_sis_id", "School SIS ID", True, ("orgSourcedIds", "School", "School ID", "School Code", "Building Code", "Building", "School Number", "SchoolID", "Campus"),
              column="school_id", export_from="school.sis_id", hold=True,
              rule=looked_up("schools", unmatched=_school_unmatched,
                             blank=Invalid("school_required", "School SIS ID is blank.", "Give every user the SIS ID/code of their school."))),
        Field("state_user_id", "State User ID", False, ("State ID", "State Student ID", "SSID", "stateId"), rule=text(64)),
        Field("alternate_user_id", "Alternate User ID", False, ("Alternate ID", "Alt ID", "Other ID"), rule=text(64)),
        Field("limited_english", "Limited English", False, ("LEP", "ELL", "English Learner", "Limited English Proficient"), rule=yes_no()),
        Field("economically_disadvantaged", "Economically Disadvantaged", False, ("Econ Disadvantaged", "FRL", "Free Reduced Lunch", "Economically Disadvantaged Flag"), rule=yes_no()),
        Field("password", "Password", False, ("pwd", "Initial Password"), rule=password()),
        # Checked against every district's usernames too (imports/services/validation.py), as sign-in asks for no district.
        Field("username", "Username", False, ("User Name", "Login", "Login ID"), rule=sign_in_name(150)),
        Field("prefix", "Prefix", False, ("Name Prefix", "Salutation"), rule=text(32)),
        Field("suffix", "Suffix", False, ("Name Suffix", "Generation"), rule=text(32)),
        Field("birthdate", "Birthdate", False, ("Birth Date", "birthDate", "Date of Birth", "DOB"), rule=birth_date()),
        Field("gender", "Gender", False, ("sex",), rule=choice_of_gender()),
        Field("hispanic_latino", "Ethnicity", False, ("Hispanic or Latino", "hispanicOrLatinoEthnicity", "Hispanic"), rule=hispanic_or_latino()),
        Field("race", "Race", False, ("Races",), rule=races(255)),
        Field("disabled", "Disabled", False, ("Special Education", "SPED", "Disability"), rule=yes_no()),
        Field("migrant", "Migrant", False, ("Migrant Status",), rule=yes_no()),
        # Kept next to the District ID so a later OneRoster demographics.csv (keyed on it) finds the user.
        Field("oneroster_sourced_id", "OneRoster sourcedId", False, ("userSourcedId",), rule=text(255)),
    ),
    steps=(
        WizardStep.UPLOAD, WizardStep.MAP_FIELDS, WizardStep.MAP_SCHOOLS, WizardStep.VALIDATE, WizardStep.ACTIONS,
        WizardStep.REVIEW,
    ),
    options=("conflict_policy", "password_policy", "custom_group", "group_members", "email_staff"),
    sample_rows=(
        {"first_name": "Maria", "last_name": "Lopez", "district_id": "000123", "user_type": "0", "grade": "5",
         "school_sis_id": "101", "limited_english": "N", "economically_disadvantaged": "Y", "birthdate": "2015-03-14",
         "gender": "F", "hispanic_latino": "Y", "race": "Hispanic/Latino;White", "disabled": "N", "migrant": "N"},
        {"first_name": "Robert", "middle_name": "J", "last_name": "Smith", "district_id": "T-1001", "user_type": "1",
         "email": "rsmith@example.org", "school_sis_id": "101", "username": "rsmith", "prefix": "Mr.", "gender": "M"},
    ),
    sample_file_name="classworks_user_import_sample.csv",
    # An SIS exports students and staff as separate files (SDS: Student.csv, Teacher.csv), without a User Type column.
    file_hints={"user_type": (("student", STUDENT), ("teacher", STAFF), ("staff", STAFF))},
    # The other columns of a new user: an imported user never gets the Django admin or district admin rights.
    insert_defaults={"is_superuser": False, "is_staff": False, "is_active": True, "is_district_admin": False},
)

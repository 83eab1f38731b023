"""Student Demographics: updates the demographic fields of students who already exist, by District ID.

As Classworks' help centre documents it ("How do I update Student Demographics information in bulk?"),
and as OneRoster's demographics.csv carries it. It never creates a user and never touches a
username, an id or a password. Flags follow the article: a blank cell is No. A field with no
column in the file is never changed.
"""
import re
from functools import lru_cache

from ..pipeline.fields import Field
from ..pipeline.normalize import (
    FLAG_CODES, GENDER_CODES, GRADE_CODES, RACE_CODES, STUDENT, Invalid, Rule, calendar_date, flag, flag_text, grade,
    grade_text, identifier,
)
from .spec import ImportSpec
from .steps import WizardStep

ERROR_NO_STUDENT = "There is no student with this District ID ({district_id})."
WARNING_NOT_A_STUDENT = (
    "District ID {district_id} is a staff member in Classworks, not a student: Student Demographics updates "
    "students only, so this row is skipped."
)
NOT_A_STUDENT_SUGGESTION = "Nothing to do unless the District ID is wrong; the row is counted as skipped."
NO_STUDENT_SUGGESTION = (
    "This import only updates students already in Classworks: check the ID, or add the student with a User Data import first."
)

# The 7 US federal categories, in the spelling they are stored and exported in.
HISPANIC_LATINO = "Hispanic/Latino"
AMERICAN_INDIAN = "American Indian or Alaska Native"
ASIAN = "Asian"
BLACK = "Black or African American"
PACIFIC_ISLANDER = "Native Hawaiian or Other Pacific Islander"
WHITE = "White"
TWO_OR_MORE = "Two or more races"
RACES = (HISPANIC_LATINO, AMERICAN_INDIAN, ASIAN, BLACK, PACIFIC_ISLANDER, WHITE, TWO_OR_MORE)
RACE_SEPARATOR = ";"

_WORDS = re.compile(r"[^a-z0-9]+")


def _word(text: str) -> str:
    return _WORDS.sub("", text.casefold())


_RACE_SPELLINGS = {
    **{_word(r): r for r in RACES},
    "hispanicorlatino": HISPANIC_LATINO, "hispanic": HISPANIC_LATINO, "latino": HISPANIC_LATINO,
    "americanindian": AMERICAN_INDIAN, "alaskanative": AMERICAN_INDIAN, "americanindianalaskanative": AMERICAN_INDIAN,
    "black": BLACK, "africanamerican": BLACK,
    "nativehawaiian": PACIFIC_ISLANDER, "pacificislander": PACIFIC_ISLANDER,
    "nativehawaiianpacificislander": PACIFIC_ISLANDER,
    "twoormore": TWO_OR_MORE, "multiracial": TWO_OR_MORE, "multiple": TWO_OR_MORE,
}


@lru_cache(maxsize=512)
def race_list(text: str) -> str | Invalid:
    """One or more categories separated by ";", kept in the file's order (never folded into Two or more races)."""
    found: list[str] = []
    for part in text.split(RACE_SEPARATOR):
        if not part.strip():
            continue
        race = _RACE_SPELLINGS.get(_word(part))
        if race is None:
            return Invalid(
                "invalid_race", f'"{part.strip()}" is not a race category.',
                "Use one or more of: " + ", ".join(RACES) + f', separated by "{RACE_SEPARATOR}".',
            )
        if race not in found:
            found.append(race)
    return RACE_SEPARATOR.join(found) or None


_GENDERS = {
    "m": "M", "male": "M", "f": "F", "female": "F", "x": "X", "nonbinary": "X",
    "other": "X", "unspecified": None,  # OneRoster's sex vocabulary
}


@lru_cache(maxsize=64)
def gender(text: str) -> str | None | Invalid:
    """M, F or X, from the letters, the words, or OneRoster's male/female/other (unspecified = not given)."""
    key = _word(text)
    if key in _GENDERS:
        return _GENDERS[key]
    return Invalid("invalid_gender", f'Gender "{text.strip()}" is not recognised.', "Use M, F or X (Male, Female or Non-binary).")


@lru_cache(maxsize=64)
def grade_or_zero(text: str) -> str | Invalid:
    """The article's grades: 0 is Kindergarten here, as well as K; the rest as the user import reads them."""
    return "K" if text.strip() in ("0", "00") else grade(text)


def races_from_columns(parts: dict) -> str | None:
    """OneRoster's race columns (true/false each) as the Race list; none true or none given is not given."""
    return RACE_SEPARATOR.join(race for key, race in _RACE_COLUMNS if parts.get(key)) or None


# A blank flag cell is No, as the article says (the user import never erases on a blank).
_FLAG = Rule(parse=flag, to_text=flag_text, blank_value=False, coding=FLAG_CODES)
# OneRoster's own race columns: (field key, category, the column's name in demographics.csv).
_ONEROSTER_RACE = (
    ("race_american_indian", AMERICAN_INDIAN, "americanIndianOrAlaskaNative"),
    ("race_asian", ASIAN, "asian"),
    ("race_black", BLACK, "blackOrAfricanAmerican"),
    ("race_pacific_islander", PACIFIC_ISLANDER, "nativeHawaiianOrOtherPacificIslander"),
    ("race_white", WHITE, "white"),
    ("race_two_or_more", TWO_OR_MORE, "demographicRaceTwoOrMoreRaces"),
)
_RACE_COLUMNS = tuple((key, race) for key, race, _ in _ONEROSTER_RACE)


STUDENT_DEMOGRAPHICS = ImportSpec(
    import_type="student_demographics",
    label="Student Demographics",
    command_name="demographics",
    target="student_demographics",
    match_field="district_id",
    fields=(
        Field("district_id", "DistrictUserID", True, ("Student ID", "Student Number", "Local ID", "SIS ID", "User ID", "Student_Number"),
              column="district_user_id", also_matches=("District ID", "userSourcedId", "sourcedId", "identifier"),
              rule=identifier(64, blank=Invalid("district_id_required", "DistrictUserID is blank.", "Every row needs the student's District ID."))),
        Field("grade", "Grade", False, ("grades", "Grade Level", "Grade_Level", "Current Grade"), hold=True,
              rule=Rule(parse=grade_or_zero, to_text=grade_text, coding=GRADE_CODES)),
        Field("gender", "Gender", False, ("Gender Code",), also_matches=("sex",),
              rule=Rule(parse=gender, coding=GENDER_CODES)),
        Field("race", "Race", False, ("Races", "Race Code", "Federal Race"), combine=races_from_columns,
              rule=Rule(parse=race_list, max_length=255, coding=RACE_CODES)),
        Field("hispanic_latino", "Hispanic or Latino", False, ("Hispanic", "Hispanic/Latino", "Ethnicity"),
              also_matches=("hispanicOrLatinoEthnicity",), rule=_FLAG),
        Field("limited_english", "English Language Learner", False, ("LEP", "ELL", "English Learner", "Limited English Proficient"),
              also_matches=("Limited English",), rule=_FLAG),
        Field("disabled", "Special Education", False, ("SPED", "IEP", "Students with Disabilities"),
              also_matches=("Disabled",), rule=_FLAG),
        Field("economically_disadvantaged", "Economically Disadvantaged", False, ("Econ Disadvantaged", "FRL", "Free Reduced Lunch"),
              rule=_FLAG),
        Field("migrant", "Migrant", False, ("Migrant Status",), rule=_FLAG),
        Field("birthdate", "Birthdate", False, ("DOB", "Birth_Date"), also_matches=("Date of Birth",), rule=calendar_date()),
        # OneRoster demographics.csv: one true/false column per category, combined into Race.
        *(Field(key, f"Race: {race}", False, also_matches=(column,), part_of="race", rule=Rule(parse=flag))
          for key, race, column in _ONEROSTER_RACE),
    ),
    # Never created here, so matched among the district's students only: staff are "not found" too.
    match_columns=("district_user_id", "oneroster_sourced_id"),
    match_only={"user_type": STUDENT},
    unmatched=lambda district_id: Invalid(
        "no_student", ERROR_NO_STUDENT.format(district_id=district_id), NO_STUDENT_SUGGESTION,
    ),
    # A demographics file often lists staff too (OneRoster's demographics.csv covers every user).
    outside_match_only=lambda district_id, stored: Invalid(
        "not_a_student", WARNING_NOT_A_STUDENT.format(district_id=district_id), NOT_A_STUDENT_SUGGESTION,
    ),
    # No School Mapping and no Additional Actions: passwords, groups and emails do not apply.
    # Value mapping of coded fields is its own step, right after Map Fields; validation starts on leaving it.
    steps=(WizardStep.UPLOAD, WizardStep.MAP_FIELDS, WizardStep.MAP_VALUES, WizardStep.VALIDATE, WizardStep.REVIEW),
    sample_rows=(
        {"district_id": "000123", "grade": "5", "gender": "F", "race": f"{ASIAN}{RACE_SEPARATOR}{WHITE}",
         "hispanic_latino": "N", "limited_english": "Y", "disabled": "N", "economically_disadvantaged": "Y",
         "migrant": "N", "birthdate": "2014-09-03"},
        {"district_id": "000124", "grade": "K", "gender": "M", "race": BLACK, "hispanic_latino": "Y",
         "birthdate": "2019-02-11"},
    ),
    sample_file_name="classworks_student_demographics_sample.csv",
)

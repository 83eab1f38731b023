"""Clever district SFTP files: the Clever SFTP Specification ("Clever SFTP Instructions" v2.1.1), https://support.clever.com

schools.csv names the schools; students.csv, teachers.csv and staff.csv list the people, each with their
School_id; sections.csv and enrollments.csv describe classes (a section names up to ten teachers).
Student_id, Teacher_id and Staff_id are the District ID.
"""
import os
import re

from . import common
from .common import Bundle, ClassInfo, Table, UserFileWriter

NAME = "clever"
VERSION = "sftp"
LABEL = "Clever district files"
KIND_LABEL = "Clever"
REQUIRED = frozenset({"schools.csv", "students.csv", "teachers.csv"})
CLASS_MEMBERS = frozenset({"sections.csv", "enrollments.csv"})
MEMBERS = REQUIRED | CLASS_MEMBERS | {"staff.csv"}

WARNING_LISTED_TWICE = "{file} row {row}: {id} is listed again (row {first_row}); imported into its first school only."
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_GRADES = {"infanttoddler": "PK", "preschool": "PK", "prekindergarten": "PK", "transitionalkindergarten": "PK", "kindergarten": "K"}
_RACES = {
    "caucasian": "White", "white": "White", "asian": "Asian", "blackorafricanamerican": "Black or African American",
    "americanindian": "American Indian or Alaska Native", "americanindianoralaskanative": "American Indian or Alaska Native",
    "hawaiianorotherpacificislander": "Native Hawaiian or Other Pacific Islander",
    "nativehawaiianorotherpacificislander": "Native Hawaiian or Other Pacific Islander",
    "twoormoreraces": "Two or more races", "multiracial": "Two or more races", "unknown": "",
}
# (file, user type, its id column, its columns -> the written file's columns)
_PEOPLE = (
    ("students.csv", common.STUDENT, "Student_id", {
        "Student_email": "Email Address", "State_id": "State User ID", "DOB": "Birthdate", "Gender": "Gender",
    }),
    ("teachers.csv", common.STAFF, "Teacher_id", {"Teacher_email": "Email Address", "State_teacher_id": "State User ID"}),
    ("staff.csv", common.STAFF, "Staff_id", {"Staff_email": "Email Address"}),
)
_SHARED = {"First_name": "First Name", "Middle_name": "Middle Name", "Last_name": "Last Name", "Username": "Username", "Password": "Password"}


def recognises(tables: dict[str, Table]) -> bool:
    return REQUIRED <= tables.keys()


def read(tables: dict[str, Table], workdir: str) -> Bundle:
    schools = tables["schools.csv"]
    schools.require("School_id", "School_name")
    names = {get("School_id"): get("School_name") for _, get in schools.rows()}
    bundle = Bundle(kind=NAME, version=VERSION, label=LABEL, school_names=names, mapping={"district_id": "District ID"},
                    district_id_column="Student_id, Teacher_id and Staff_id")
    writers = []
    for key, user_type, id_column, own in _PEOPLE:
        if key not in tables:
            continue
        table = tables[key]
        table.require(id_column, "School_id")
        columns = {out for source, out in {**_SHARED, **own}.items() if table.has(source)}
        columns |= {"District ID", "User Type", "School SIS ID", "School Name", "Email Address"}
        if user_type == common.STUDENT:
            columns |= {"Grade", "Race", "Ethnicity", "Limited English", "Economically Disadvantaged", "Disabled"}
        writer = UserFileWriter(bundle, table.name, os.path.join(workdir, key), columns)
        writers.append(writer)
        seen: dict[str, int] = {}
        for row, get in table.rows():
            person_id, school = get(id_column), get("School_id")
            if person_id in seen:
                bundle.warnings.append(WARNING_LISTED_TWICE.format(file=writer.source_name, row=row, id=person_id, first_row=seen[person_id]))
                continue
            seen[person_id] = row
            person = {out: get(source) for source, out in {**_SHARED, **own}.items()}
            person.update({"District ID": person_id, "User Type": user_type, "School SIS ID": school, "School Name": names.get(school, "")})
            if user_type == common.STUDENT:
                person.update({
                    "Grade": _GRADES.get(common.key_of(get("Grade")), get("Grade")),
                    "Race": _race(get("Race")), "Ethnicity": common.yes_no(get("Hispanic_Latino")),
                    "Limited English": common.yes_no(get("Ell_status")), "Economically Disadvantaged": _frl(get("Frl_status")),
                    "Disabled": common.yes_no(get("IEP_status")), "Birthdate": _us_date(get("DOB")),
                })
            writer.write(row, person)
    bundle.class_files = sorted(common.plain_name(t.name) for k, t in tables.items() if k in CLASS_MEMBERS)
    if "sections.csv" in tables and "enrollments.csv" in tables:
        bundle.class_reader = lambda: _class_rows(tables)
    return common.finish(bundle, writers)


def _us_date(value: str) -> str:
    """Clever writes dates MM/DD/YYYY: as ISO, so 05/01/2016 is not read as ambiguous."""
    match = _US_DATE.match(value.strip())
    return f"{match[3]}-{int(match[1]):02d}-{int(match[2]):02d}" if match else value


def _race(value: str) -> str:
    """Clever's race words in the federal categories; a word it does not list passes through to value mapping."""
    return _RACES.get(common.key_of(value), value.strip())


def _frl(value: str) -> str:
    """Free or reduced-price lunch: Economically Disadvantaged."""
    key = common.key_of(value)
    if not key:
        return ""
    return "Y" if key in ("free", "f", "reduced", "r", "y", "yes", "true") else "N"


def _class_rows(tables: dict[str, Table]):
    sections = tables["sections.csv"]
    classes, teachers = {}, []
    for row, get in sections.rows():
        section_id = get("Section_id")
        classes[section_id] = ClassInfo(
            name=get("Name"), school_sis_id=get("School_id"), course_name=get("Course_name"),
            course_number=get("Course_number"), subject=get("Subject"), term_name=get("Term_name"),
            term_start=get("Term_start"), term_end=get("Term_end"),
        )
        for column in ("Teacher_id", *(f"Teacher_{n}_id" for n in range(2, 11))):
            if get(column):
                teachers.append((section_id, get(column), "teacher", sections.name, row, "true" if column == "Teacher_id" else "false"))

    def enrollments():
        yield from teachers
        table = tables["enrollments.csv"]
        for row, get in table.rows():
            yield get("Section_id"), get("Student_id"), "student", table.name, row, ""

    yield from common.class_rows(classes, {}, {}, enrollments(), {})

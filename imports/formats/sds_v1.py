"""Microsoft School Data Sync v1 CSV: https://learn.microsoft.com/schooldatasync/school-data-sync-format-csv-files-for-sds

School.csv names the schools; Student.csv and Teacher.csv list one row per person and school (a
teacher of two schools is listed twice); Section.csv, StudentEnrollment.csv and TeacherRoster.csv
describe classes. SIS ID is the District ID.
"""
import os

from . import common
from .common import Bundle, ClassInfo, Table, UserFileWriter

NAME = "sds"
VERSION = "v1"
LABEL = "School Data Sync v1"
KIND_LABEL = "School Data Sync"
REQUIRED = frozenset({"school.csv", "student.csv", "teacher.csv"})
CLASS_MEMBERS = frozenset({"section.csv", "studentenrollment.csv", "teacherroster.csv"})
MEMBERS = REQUIRED | CLASS_MEMBERS

WARNING_LISTED_TWICE = "{file} row {row}: SIS ID {sis_id} is listed again (row {first_row}) for {school}; imported into {first} only."
# Student.csv / Teacher.csv column -> the written file's column
_COLUMNS = {
    "SIS ID": "District ID", "Username": "Username", "Password": "Password", "First Name": "First Name",
    "Middle Name": "Middle Name", "Last Name": "Last Name", "Secondary Email": "Email Address",
    "State ID": "State User ID", "Birthdate": "Birthdate", "Gender": "Gender", "ELL Status": "Limited English",
}


def recognises(tables: dict[str, Table]) -> bool:
    return REQUIRED <= tables.keys()


def read(tables: dict[str, Table], workdir: str) -> Bundle:
    schools = tables["school.csv"]
    schools.require("SIS ID", "Name")
    names = {get("SIS ID"): get("Name") for _, get in schools.rows()}
    bundle = Bundle(kind=NAME, version=VERSION, label=LABEL, school_names=names, district_id_column="SIS ID",
                    mapping={"district_id": "District ID"})
    seen: dict[str, tuple[int, str]] = {}
    writers = []
    for key, user_type in (("student.csv", common.STUDENT), ("teacher.csv", common.STAFF)):
        table = tables[key]
        table.require("SIS ID", "School SIS ID")
        columns = {out for source, out in _COLUMNS.items() if table.has(source)}
        columns |= {"District ID", "User Type", "School SIS ID", "School Name", "Email Address"}
        if user_type == common.STUDENT:
            columns.add("Grade")
        writer = UserFileWriter(bundle, table.name, os.path.join(workdir, key), columns)
        writers.append(writer)
        for row, get in table.rows():
            sis_id, school = get("SIS ID"), get("School SIS ID")
            first = seen.get(f"{user_type}:{sis_id}") if sis_id else None
            if first is not None:
                bundle.warnings.append(WARNING_LISTED_TWICE.format(
                    file=writer.source_name, row=row, sis_id=sis_id, first_row=first[0],
                    school=_school_label(school, names), first=_school_label(first[1], names)))
                continue
            seen[f"{user_type}:{sis_id}"] = (row, school)
            person = {out: get(source) for source, out in _COLUMNS.items()}
            person["Limited English"] = common.yes_no(person["Limited English"])
            person.update({"User Type": user_type, "School SIS ID": school, "School Name": names.get(school, "")})
            if user_type == common.STUDENT:
                person["Grade"] = common.grade_code(get("Grade"))
            writer.write(row, person)
    bundle.class_files = sorted(common.plain_name(t.name) for k, t in tables.items() if k in CLASS_MEMBERS)
    if "section.csv" in tables:
        bundle.class_reader = lambda: _class_rows(tables)
    return common.finish(bundle, writers)


def _school_label(value: str, names: dict[str, str]) -> str:
    name = names.get(value, "")
    return f"{name} ({value})" if name else value


def _class_rows(tables: dict[str, Table]):
    classes = {
        get("SIS ID"): ClassInfo(
            name=get("Section Name"), school_sis_id=get("School SIS ID"), course_name=get("Course Name"),
            course_number=get("Course Number"), subject=get("Course Subject"), term_name=get("Term Name"),
            term_start=get("Term StartDate"), term_end=get("Term EndDate"),
        )
        for _, get in tables["section.csv"].rows()
    }

    def enrollments():
        for key, role in (("teacherroster.csv", "teacher"), ("studentenrollment.csv", "student")):
            if key in tables:
                for row, get in tables[key].rows():
                    yield get("Section SIS ID"), get("SIS ID"), role, tables[key].name, row, ""

    yield from common.class_rows(classes, {}, {}, enrollments(), {})

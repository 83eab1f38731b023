"""IMS OneRoster 1.1 CSV: https://www.imsglobal.org/oneroster-v11-final-csv-tables

users.csv names each user's role and orgs itself (role, orgSourcedIds); orgs.csv says which org is a
school; demographics.csv (keyed on the user's sourcedId) adds birthdate, sex, race and ethnicity;
classes, courses, academicSessions and enrollments describe classes. OneRoster 1.2 reads users the same
way with its roles from roles.csv (oneroster_12.py uses read_users below).
"""
import os

from . import common
from .common import Bundle, ClassInfo, Schools, Table, UserFileWriter

NAME = "oneroster"
VERSION = "1.1"
LABEL = "OneRoster 1.1"
KIND_LABEL = "OneRoster"
REQUIRED = frozenset({"users.csv", "orgs.csv"})
CLASS_MEMBERS = frozenset({"classes.csv", "enrollments.csv", "courses.csv", "academicsessions.csv"})
MEMBERS = REQUIRED | CLASS_MEMBERS | {"demographics.csv", "manifest.csv"}


def recognises(tables: dict[str, Table]) -> bool:
    """users.csv with a role column, from a OneRoster export (its manifest, or OneRoster's own columns)."""
    if not REQUIRED <= tables.keys():
        return False
    users = tables["users.csv"]
    return users.has("role") and ("manifest.csv" in tables or users.has("enabledUser") or users.has("orgSourcedIds") and users.has("dateLastModified"))


def read(tables: dict[str, Table], workdir: str) -> Bundle:
    users = tables["users.csv"]
    users.require("sourcedId", "givenName", "familyName", "role")

    def roles_of(get):
        return get("role"), common.split_list(get("orgSourcedIds")), get("grades")

    return read_users(tables, workdir, version=VERSION, label=LABEL, roles_of=roles_of)


def read_users(tables: dict[str, Table], workdir: str, *, version: str, label: str, roles_of, passwords=None) -> Bundle:
    """users.csv written as User Data rows; roles_of(get) -> (role, orgs primary first, grade) of one user row."""
    users = tables["users.csv"]
    schools = Schools(common.read_orgs(tables["orgs.csv"]))
    demographics = _read_demographics(tables["demographics.csv"]) if "demographics.csv" in tables else None
    passwords = passwords or {}
    bundle = Bundle(kind=NAME, version=version, label=label, school_names=schools.school_names(),
                    not_k12_schools=schools.not_k12_values())
    # District ID is identifier or sourcedId (chosen below); the admin may match the other on Map Fields.
    columns = {"identifier", "sourcedId", "OneRoster sourcedId", "Username", "First Name", "Middle Name", "Last Name",
               "Email Address", "User Type", "Grade", "School SIS ID", "School Name"}
    if users.has("password") or passwords:
        columns.add("Password")
    if demographics is not None:
        columns.update(common.DEMOGRAPHIC_COLUMNS)
    writer = UserFileWriter(bundle, users.name, os.path.join(workdir, "users.csv"), columns)
    identifiers = 0
    for row, get in users.rows():
        name = common.full_name(get("givenName"), get("familyName"))
        if get("status").casefold() == "tobedeleted":
            writer.skip("tobedeleted", row, name)
            continue
        if get("enabledUser").casefold() == "false":
            writer.skip("disabled", row, name)
            continue
        sourced_id = get("sourcedId")
        role, org_ids, grades = roles_of(get)
        if not role.strip():
            writer.skip("no_role", row, name)
            continue
        user_type = common.user_type_of(role)
        if user_type is None:
            writer.skip("guardian", row, name)
            continue
        school, school_name = schools.pick(org_ids, file=users.name, row=row, warnings=bundle.warnings)
        identifiers += bool(get("identifier"))
        person = {
            "identifier": get("identifier"), "sourcedId": sourced_id, "OneRoster sourcedId": sourced_id,
            "Username": get("username"), "Password": get("password") or passwords.get(sourced_id, ""),
            "First Name": get("givenName"), "Middle Name": get("middleName"), "Last Name": get("familyName"),
            "Email Address": get("email"), "User Type": user_type,
            "Grade": common.grade_code(get("grades") or grades) if user_type != common.STAFF else "",
            "School SIS ID": school, "School Name": school_name,
        }
        if demographics is not None:
            person.update(demographics.get(sourced_id, {}))
        writer.write(row, person)
    # identifier when every imported user has one: a District ID half from one column, half from another never matches twice alike.
    use_identifier = users.has("identifier") and identifiers == writer.written and identifiers > 0
    bundle.district_id_column = "identifier" if use_identifier else "sourcedId"
    bundle.mapping = {"district_id": bundle.district_id_column}
    bundle.class_files = sorted(common.plain_name(t.name) for k, t in tables.items() if k in CLASS_MEMBERS)
    if "classes.csv" in tables and "enrollments.csv" in tables:
        bundle.class_reader = lambda: _class_rows(tables, schools, use_identifier)
    return common.finish(bundle, [writer])


def _read_demographics(table: Table) -> dict[str, dict[str, str]]:
    """User sourcedId -> Birthdate, Gender, Race and Ethnicity as the engine's columns read them. Header only: none."""
    key = "userSourcedId" if table.has("userSourcedId") else "sourcedId"
    found = {}
    for _, get in table.rows():
        if get("status").casefold() == "tobedeleted":
            continue
        found[get(key)] = {
            "Birthdate": get("birthDate"), "Gender": get("sex"),
            "Race": common.races_of(get), "Ethnicity": common.ethnicity_of(get),
        }
    return found


def _class_rows(tables: dict[str, Table], schools: Schools, use_identifier: bool):
    district_ids = {get("sourcedId"): (get("identifier") if use_identifier else get("sourcedId")) for _, get in tables["users.csv"].rows()}
    school_value = {k: o.value for k, o in schools.orgs.items()}
    classes = {}
    for _, get in tables["classes.csv"].rows():
        if get("status").casefold() == "tobedeleted":
            continue
        classes[get("sourcedId")] = ClassInfo(
            name=get("title"), school_sis_id=school_value.get(get("schoolSourcedId"), get("schoolSourcedId")),
            course_id=get("courseSourcedId"), term_ids=tuple(common.split_list(get("termSourcedIds"))),
            subject=get("subjects"), course_number=get("classCode"),
        )
    courses = {}
    if "courses.csv" in tables:
        courses = {get("sourcedId"): (get("title"), get("courseCode"), get("subjects")) for _, get in tables["courses.csv"].rows()}
    terms = {}
    if "academicsessions.csv" in tables:
        terms = {get("sourcedId"): (get("title"), get("startDate"), get("endDate")) for _, get in tables["academicsessions.csv"].rows()}
    table = tables["enrollments.csv"]
    enrollments = (
        (get("classSourcedId"), get("userSourcedId"), get("role"), table.name, row, get("primary"))
        for row, get in table.rows() if get("status").casefold() != "tobedeleted"
    )
    yield from common.class_rows(classes, courses, terms, enrollments, district_ids)

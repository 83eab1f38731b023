"""Microsoft School Data Sync v2 and v2.1 CSV: https://learn.microsoft.com/schooldatasync/sds-v2.1-csv-file-format

v2: users.csv names each user's role, orgs (orgSourcedIds) and grade itself. v2.1: roles.csv gives the
user's roles (isPrimary) with their grade; demographics.csv, userFlags.csv and relationships.csv add
birthdate, sex, race, ethnicity, program flags and who is whose guardian. Both: orgs.csv (typed orgs),
and classes, enrollments, courses and academicSessions for classes. sourcedId is the District ID.
"""
import os

from . import common
from .common import Bundle, ClassInfo, FileReadError, Schools, Table, UserFileWriter

NAME = "sds"
LABEL_V2 = "School Data Sync v2"
LABEL_V21 = "School Data Sync v2.1"
KIND_LABEL = "School Data Sync"
REQUIRED = frozenset({"users.csv", "orgs.csv"})
CLASS_MEMBERS = frozenset({"classes.csv", "enrollments.csv", "courses.csv", "academicsessions.csv"})
MEMBERS = REQUIRED | CLASS_MEMBERS | {"roles.csv", "demographics.csv", "userflags.csv", "relationships.csv"}

ERROR_NO_ROLES = "has no role column, and there is no roles.csv (School Data Sync v2.1 keeps roles there)"


def recognises(tables: dict[str, Table]) -> bool:
    """users.csv and orgs.csv that OneRoster did not claim (the registry asks OneRoster first)."""
    return REQUIRED <= tables.keys()


def read(tables: dict[str, Table], workdir: str) -> Bundle:
    users = tables["users.csv"]
    users.require("sourcedId", "givenName", "familyName")
    v21 = not users.has("role")
    if v21 and "roles.csv" not in tables:
        raise FileReadError(users.name, ERROR_NO_ROLES, "bundle_no_roles")
    schools = Schools(common.read_orgs(tables["orgs.csv"]))
    roles = common.read_roles(tables["roles.csv"], primary=lambda get: common.is_true(get("isPrimary"))) if v21 else {}
    demographics = _demographics(tables["demographics.csv"]) if "demographics.csv" in tables else None
    flags = _flags(tables["userflags.csv"]) if "userflags.csv" in tables else None
    related = _related(tables["relationships.csv"]) if "relationships.csv" in tables else set()
    bundle = Bundle(kind=NAME, version="v2.1" if v21 else "v2", label=LABEL_V21 if v21 else LABEL_V2,
                    school_names=schools.school_names(), not_k12_schools=schools.not_k12_values(),
                    district_id_column="sourcedId", mapping={"district_id": "District ID"})
    columns = {"District ID", "Username", "First Name", "Middle Name", "Last Name", "Email Address", "User Type",
               "Grade", "School SIS ID", "School Name"}
    if users.has("password"):
        columns.add("Password")
    if demographics is not None:
        columns.update(common.DEMOGRAPHIC_COLUMNS)
    if flags is not None:
        columns.update(common.FLAG_OUTPUT)
    writer = UserFileWriter(bundle, users.name, os.path.join(workdir, "users.csv"), columns)
    for row, get in users.rows():
        sourced_id = get("sourcedId")
        name = common.full_name(get("givenName"), get("familyName"))
        if v21:
            found = roles.get(sourced_id)
            role, org_ids, grade = common.main_role(found) if found else ("", [], "")
        else:
            role, org_ids, grade = get("role"), common.split_list(get("orgSourcedIds")), ""
        user_type = common.user_type_of(role) if role.strip() else ""
        if user_type is None or (not user_type and sourced_id in related):
            writer.skip("guardian", row, name)
            continue
        if not user_type:
            writer.skip("no_role", row, name)
            continue
        school, school_name = schools.pick(org_ids, file=users.name, row=row, warnings=bundle.warnings)
        person = {
            "District ID": sourced_id, "Username": get("username"), "Password": get("password"),
            "First Name": get("givenName"), "Middle Name": get("middleName"), "Last Name": get("familyName"),
            "Email Address": get("email"), "User Type": user_type,
            "Grade": common.grade_code(get("grade") or get("grades") or grade) if user_type != common.STAFF else "",
            "School SIS ID": school, "School Name": school_name,
        }
        if demographics is not None:
            person.update(demographics.get(sourced_id, {}))
        if flags is not None:
            person.update(flags.get(sourced_id, dict.fromkeys(common.FLAG_OUTPUT, "N")))
        writer.write(row, person)
    bundle.class_files = sorted(common.plain_name(t.name) for k, t in tables.items() if k in CLASS_MEMBERS)
    if "classes.csv" in tables and "enrollments.csv" in tables:
        bundle.class_reader = lambda: _class_rows(tables, schools)
    return common.finish(bundle, [writer])


def _demographics(table: Table) -> dict[str, dict[str, str]]:
    key = "userSourcedId" if table.has("userSourcedId") else "sourcedId"
    return {
        get(key): {"Birthdate": get("birthDate"), "Gender": get("sex"), "Race": common.races_of(get), "Ethnicity": common.ethnicity_of(get)}
        for _, get in table.rows()
    }


def _flags(table: Table) -> dict[str, dict[str, str]]:
    """userSourcedId -> Y for each flag the file lists for them, N for the others: a flag's absence means No."""
    found: dict[str, dict[str, str]] = {}
    for _, get in table.rows():
        column = common.FLAG_COLUMNS.get(common.key_of(get("flag")))
        if column:
            found.setdefault(get("userSourcedId"), dict.fromkeys(common.FLAG_OUTPUT, "N"))[column] = "Y"
    return found


def _related(table: Table) -> set[str]:
    """The people relationships.csv names as someone's relation: guardians, parents and relatives."""
    return {get("relationshipUserSourcedId") for _, get in table.rows() if get("relationshipUserSourcedId")}


def _class_rows(tables: dict[str, Table], schools: Schools):
    school_value = {k: o.value for k, o in schools.orgs.items()}
    classes = {
        get("sourcedId"): ClassInfo(
            name=get("title"), school_sis_id=school_value.get(get("orgSourcedId"), get("orgSourcedId")),
            course_id=get("courseSourcedId"), term_ids=tuple(common.split_list(get("sessionSourcedIds"))),
            course_number=get("code"), subject=get("subject"),
        )
        for _, get in tables["classes.csv"].rows()
    }
    courses = {}
    if "courses.csv" in tables:
        courses = {get("sourcedId"): (get("title"), get("code"), get("subject")) for _, get in tables["courses.csv"].rows()}
    terms = {}
    if "academicsessions.csv" in tables:
        terms = {get("sourcedId"): (get("title"), get("startDate"), get("endDate")) for _, get in tables["academicsessions.csv"].rows()}
    table = tables["enrollments.csv"]
    enrollments = ((get("classSourcedId"), get("userSourcedId"), get("role"), table.name, row, get("primary")) for row, get in table.rows())
    yield from common.class_rows(classes, courses, terms, enrollments, {})

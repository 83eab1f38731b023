"""IMS OneRoster 1.2 CSV binding: https://www.imsglobal.org/spec/oneroster/v1p2/bind/csv

Unlike 1.1, users.csv has no role: roles.csv gives each user's roles (roleType primary or secondary)
in their orgs, and userProfiles.csv may hold the password. Users are otherwise read as in 1.1.
"""
from . import common
from .common import Bundle, FileReadError, Table
from .oneroster_11 import CLASS_MEMBERS, read_users

NAME = "oneroster"
VERSION = "1.2"
LABEL = "OneRoster 1.2"
KIND_LABEL = "OneRoster"
REQUIRED = frozenset({"users.csv", "orgs.csv"})
MEMBERS = REQUIRED | CLASS_MEMBERS | {"roles.csv", "userprofiles.csv", "demographics.csv", "manifest.csv"}

ERROR_NO_ROLES = "has no role column, and there is no roles.csv (OneRoster 1.2 keeps roles there)"


def recognises(tables: dict[str, Table]) -> bool:
    """users.csv without a role column, with OneRoster's own columns (enabledUser) or its manifest."""
    if not REQUIRED <= tables.keys():
        return False
    users = tables["users.csv"]
    roles = tables.get("roles.csv")
    if users.has("role") or (roles is not None and roles.has("isPrimary")):
        return False
    return "manifest.csv" in tables or users.has("enabledUser") or (roles is not None and roles.has("roleType"))


def read(tables: dict[str, Table], workdir: str) -> Bundle:
    users = tables["users.csv"]
    users.require("sourcedId", "givenName", "familyName")
    if "roles.csv" not in tables:
        raise FileReadError(users.name, ERROR_NO_ROLES, "bundle_no_roles")
    roles = common.read_roles(tables["roles.csv"], primary=lambda get: get("roleType").casefold() == "primary")
    passwords = _profile_passwords(tables["userprofiles.csv"]) if "userprofiles.csv" in tables else {}

    def roles_of(get):
        found = roles.get(get("sourcedId"))
        if not found:
            return "", common.split_list(get("primaryOrgSourcedId")), ""
        return common.main_role(found)

    return read_users(tables, workdir, version=VERSION, label=LABEL, roles_of=roles_of, passwords=passwords)


def _profile_passwords(table: Table) -> dict[str, str]:
    """userSourcedId -> the password of their first profile that has one."""
    found: dict[str, str] = {}
    for _, get in table.rows():
        if get("password") and get("userSourcedId") not in found and get("status").casefold() != "tobedeleted":
            found[get("userSourcedId")] = get("password")
    return found

"""OneRoster 1.1/1.2 CSV and School Data Sync v1 bundles, turned into ordinary user files.

A bundle is several files that only together describe a user (users.csv names its school by an
orgs.csv id; demographics.csv adds birthdate and race). This module reads them, streaming, and
writes one plain CSV per user file with headings the engine already maps, so nothing past the
upload knows a bundle was involved. A row of the written file has the same row number as its row
in the source file (a skipped row is a blank line), so every message points into the admin's file.
"""
import csv
import os
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

from .reading import FileReadError, inspect_file, iter_rows

# The zip limits. A roster zip holds a dozen files; only the few we read are unpacked, to disk.
BUNDLE_MAX_MEMBERS = 200
BUNDLE_MAX_DIRECTORY_BYTES = 1 << 20  # the zip's table of contents, read before anything else
BUNDLE_MAX_UNCOMPRESSED = 500 * 1024 * 1024  # what the members we read may unpack to, together
BUNDLE_MAX_RATIO = 100  # a member that unpacks to over 100 times its size (and over 1 MiB) is a bomb
COPY_CHUNK = 64 * 1024

ONEROSTER = "oneroster"
SDS = "sds"

ROLE_STUDENT = {"student"}
ROLE_STAFF = {"teacher", "administrator", "aide", "proctor", "districtadministrator", "siteadministrator", "principal"}
ROLE_SKIPPED = {"guardian", "parent", "relative"}
# CEDS grade codes that OneRoster and SDS use, where the meaning is certain; others pass through
# and validation names them.
CEDS_GRADES = {"it": "PK", "pr": "PK", "pk": "PK", "tk": "PK", "kg": "K"}
RACE_COLUMNS = (
    ("americanIndianOrAlaskaNative", "American Indian or Alaska Native"),
    ("asian", "Asian"),
    ("blackOrAfricanAmerican", "Black or African American"),
    ("nativeHawaiianOrOtherPacificIslander", "Native Hawaiian or Other Pacific Islander"),
    ("white", "White"),
    ("demographicRaceTwoOrMoreRaces", "Two or more races"),
)

# The columns of the written user files. Headings the engine knows are matched by themselves.
ONEROSTER_COLUMNS = (
    "identifier", "sourcedId", "OneRoster sourcedId", "Username", "First Name", "Middle Name", "Last Name",
    "Email Address", "User Type", "Grade", "School SIS ID", "School Name",
)
DEMOGRAPHIC_COLUMNS = ("Birthdate", "Gender", "Race", "Ethnicity")
SDS_COLUMNS = (
    "SIS ID", "Username", "First Name", "Middle Name", "Last Name", "Secondary Email", "User Type", "Grade",
    "School SIS ID", "School Name", "State ID", "Birthdate", "Gender",
)

ERROR_NOT_A_ZIP = "is not a readable zip archive"
ERROR_NOT_A_BUNDLE = (
    "is a zip archive without OneRoster files (users.csv and orgs.csv) or School Data Sync files "
    "(School.csv, Student.csv and Teacher.csv)"
)
ERROR_ZIP_WITH_OTHERS = "is a zip archive: upload a OneRoster or School Data Sync zip on its own"
ERROR_TOO_MANY_MEMBERS = "is refused: it holds {count:,} files and a roster zip may hold at most {limit:,}"
ERROR_UNSAFE_NAME = 'is refused: it holds a file with an unsafe path ("{member}")'
ERROR_ENCRYPTED = 'is refused: "{member}" in it is password-protected'
ERROR_BOMB = 'is refused: "{member}" in it unpacks to {ratio:,.0f} times its size, which only a zip bomb does'
ERROR_TOO_LARGE = "is refused: the files to read in it unpack to more than {limit} MiB"
ERROR_TWICE = 'is refused: it holds "{member}" twice'
ERROR_NO_ROLES = "has no role column, and there is no roles.csv (OneRoster 1.2 keeps roles there)"
ERROR_NO_COLUMN = 'has no "{column}" column, which a {kind} file has'
WARNING_SEVERAL_SCHOOLS = "{file} row {row}: the user is in several schools; imported into {first}, not {others}."
WARNING_LISTED_TWICE = "{file} row {row}: SIS ID {sis_id} is listed again (row {first_row}) for {school}; imported into {first} only."


@dataclass(frozen=True)
class UserFile:
    """One written user file: the name messages use, and where it is on disk."""

    name: str
    path: str


@dataclass
class Bundle:
    kind: str  # ONEROSTER or SDS
    version: str  # "1.1", "1.2" or "v1"
    files: list[UserFile] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # field key -> column of the written files
    district_id_column: str = ""
    skipped: dict[str, int] = field(default_factory=dict)  # why -> rows not imported
    ignored_files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    school_names: dict[str, str] = field(default_factory=dict)  # school value of the file -> school name

    @property
    def label(self) -> str:
        return f"OneRoster {self.version}" if self.kind == ONEROSTER else "School Data Sync v1"

    def summary(self) -> dict:
        """What the job keeps about the bundle: counts, names and choices, no student data."""
        return {
            "kind": self.kind, "version": self.version, "label": self.label, "mapping": self.mapping,
            "district_id_column": self.district_id_column, "skipped": self.skipped,
            "skipped_total": sum(self.skipped.values()), "ignored_files": self.ignored_files,
            "not_imported": [f"{n} {SKIP_REASONS[why]}" for why, n in self.skipped.items() if n],
            "warnings": self.warnings[:MAX_LISTED_WARNINGS], "warning_count": len(self.warnings),
            "school_names": self.school_names,
        }


MAX_LISTED_WARNINGS = 100
SKIP_REASONS = {"tobedeleted": "marked tobedeleted", "disabled": "with enabledUser false", "guardian": "guardians, parents or relatives"}


# --- Recognising a bundle ----------------------------------------------------------------


def kind_of(names) -> str | None:
    """ONEROSTER, SDS or None, from the base names of the files (case ignored)."""
    lower = {os.path.basename(n).casefold() for n in names}
    if {"users.csv", "orgs.csv"} <= lower:
        return ONEROSTER
    if {"school.csv", "student.csv", "teacher.csv"} <= lower:
        return SDS
    return None


def _bundle_files(kind: str) -> set[str]:
    if kind == ONEROSTER:
        return {"users.csv", "orgs.csv", "demographics.csv", "roles.csv"}
    return {"school.csv", "student.csv", "teacher.csv"}


def open_bundle(uploads: list[tuple[str, str]], workdir: str) -> Bundle | None:
    """The bundle in these (name, path) uploads, its user files written to workdir; None for ordinary files.

    A zip is checked (member count, path names, sizes) before anything in it is read. Raises
    FileReadError naming the file for a hostile or unusable upload.
    """
    # By name only: a zip named .csv is refused by the reader as "not a CSV file", as before.
    zips = [(name, path) for name, path in uploads if name.lower().endswith(".zip")]
    if zips:
        name, path = zips[0]
        if len(uploads) > 1:
            raise FileReadError(name, ERROR_ZIP_WITH_OTHERS, "zip_with_others")
        members, ignored = _unpack(name, path, workdir)
        return _build(members, ignored, workdir)
    if kind_of(name for name, _ in uploads) is None:
        return None
    members = {os.path.basename(name).casefold(): (os.path.basename(name), path) for name, path in uploads}
    kind = kind_of(members)
    ignored = sorted(display for key, (display, _) in members.items() if key not in _bundle_files(kind))
    return _build(members, ignored, workdir)


def _build(members: dict, ignored: list[str], workdir: str) -> Bundle:
    kind = kind_of(members)
    readable = {key: (display, path) for key, (display, path) in members.items() if key in _bundle_files(kind)}
    if kind == ONEROSTER:
        bundle = _oneroster(readable, workdir)
    else:
        bundle = _sds(readable, workdir)
    # A roster upload with classes has its class files read too (the Classes import): they are not ignored.
    names = set(members) | {PurePosixPath(n).name.casefold() for n in ignored}
    if ClassFiles(kind, dict.fromkeys(names)).has_classes:
        ignored = [n for n in ignored if PurePosixPath(n).name.casefold() not in CLASS_FILES[kind]]
    bundle.ignored_files = ignored
    return bundle


# --- Zip safety ----------------------------------------------------------------------------


def _unpack(name: str, path: str, workdir: str, with_classes: bool = False) -> tuple[dict, list[str]]:
    """Check the zip, then copy only the members a bundle reads to workdir, streaming and counted."""
    _check_directory(name, path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileReadError(name, ERROR_NOT_A_ZIP, "not_a_zip") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > BUNDLE_MAX_MEMBERS:
            raise FileReadError(name, ERROR_TOO_MANY_MEMBERS.format(count=len(infos), limit=BUNDLE_MAX_MEMBERS), "zip_too_many_files")
        for info in infos:
            if _unsafe(info.filename):
                raise FileReadError(name, ERROR_UNSAFE_NAME.format(member=info.filename[:100]), "zip_unsafe_name")
            if info.file_size > 1 << 20 and info.file_size > BUNDLE_MAX_RATIO * max(info.compress_size, 1):
                ratio = info.file_size / max(info.compress_size, 1)
                raise FileReadError(name, ERROR_BOMB.format(member=info.filename[:100], ratio=ratio), "zip_bomb")
        files = [i for i in infos if not i.is_dir() and not _hidden(i.filename)]
        kind = kind_of(i.filename for i in files)
        if kind is None:
            raise FileReadError(name, ERROR_NOT_A_BUNDLE, "not_a_bundle")
        wanted, ignored = {}, []
        for info in files:
            key = PurePosixPath(info.filename).name.casefold()
            if key not in _bundle_files(kind) | (CLASS_FILES[kind] if with_classes else set()):
                ignored.append(info.filename)
                continue
            if key in wanted:
                raise FileReadError(name, ERROR_TWICE.format(member=PurePosixPath(info.filename).name), "zip_duplicate")
            if info.flag_bits & 0x1:
                raise FileReadError(name, ERROR_ENCRYPTED.format(member=info.filename), "zip_encrypted")
            wanted[key] = info
        if sum(i.file_size for i in wanted.values()) > BUNDLE_MAX_UNCOMPRESSED:
            raise FileReadError(name, ERROR_TOO_LARGE.format(limit=BUNDLE_MAX_UNCOMPRESSED >> 20), "zip_too_large")
        members = {}
        budget = BUNDLE_MAX_UNCOMPRESSED
        for key, info in wanted.items():
            target = os.path.join(workdir, f"member-{len(members)}")
            budget -= _copy_member(name, archive, info, target, budget)
            display = f"{PurePosixPath(info.filename).name} (in {name})"
            members[key] = (display, target)
    return members, sorted(ignored)


def _check_directory(name: str, path: str) -> None:
    """Read the zip's end record before zipfile does: a huge table of contents would fill memory."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        f.seek(max(0, size - (1 << 16) - 22))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise FileReadError(name, ERROR_NOT_A_ZIP, "not_a_zip")
    _, _, _, _, entries, directory_size, _, _ = struct.unpack("<4s4H2LH", tail[at:at + 22])
    if entries == 0xFFFF or directory_size == 0xFFFFFFFF:  # zip64: more entries than a roster zip has
        raise FileReadError(name, ERROR_TOO_MANY_MEMBERS.format(count=entries, limit=BUNDLE_MAX_MEMBERS), "zip_too_many_files")
    if entries > BUNDLE_MAX_MEMBERS:
        raise FileReadError(name, ERROR_TOO_MANY_MEMBERS.format(count=entries, limit=BUNDLE_MAX_MEMBERS), "zip_too_many_files")
    if directory_size > BUNDLE_MAX_DIRECTORY_BYTES:
        raise FileReadError(name, ERROR_TOO_MANY_MEMBERS.format(count=entries, limit=BUNDLE_MAX_MEMBERS), "zip_too_many_files")


def _unsafe(member: str) -> bool:
    if "\x00" in member or member.startswith(("/", "\\")) or PureWindowsPath(member).drive:
        return True
    parts = member.replace("\\", "/").split("/")
    return ".." in parts


def _hidden(member: str) -> bool:
    """macOS adds __MACOSX/ and ._ files to every zip it makes; they are not the admin's files."""
    path = PurePosixPath(member)
    return path.parts[0] == "__MACOSX" or path.name.startswith("._") or path.name == ".DS_Store"


def _copy_member(name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: str, budget: int) -> int:
    """Copy one member to disk in chunks, stopping at the budget whatever its header claims."""
    copied = 0
    try:
        with archive.open(info) as source, open(target, "wb") as out:
            while chunk := source.read(COPY_CHUNK):
                copied += len(chunk)
                if copied > budget:
                    raise FileReadError(name, ERROR_TOO_LARGE.format(limit=BUNDLE_MAX_UNCOMPRESSED >> 20), "zip_too_large")
                if copied > BUNDLE_MAX_RATIO * max(info.compress_size, 1) + (1 << 20):  # its header understated it
                    ratio = copied / max(info.compress_size, 1)
                    raise FileReadError(name, ERROR_BOMB.format(member=info.filename[:100], ratio=ratio), "zip_bomb")
                out.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError):
        raise FileReadError(name, ERROR_NOT_A_ZIP, "not_a_zip") from None
    return copied


# --- Reading a member ------------------------------------------------------------------------


class _Table:
    """One CSV of a bundle: its headings by name (case ignored) and its rows, streamed."""

    def __init__(self, display: str, path: str, kind_label: str):
        self.name, self.path = display, path
        self.info = inspect_file(path, display, has_header=True)
        self.columns = {h.casefold(): i for i, h in enumerate(self.info.headers)}
        self.kind_label = kind_label

    def has(self, column: str) -> bool:
        return column.casefold() in self.columns

    def require(self, *columns: str) -> None:
        for column in columns:
            if not self.has(column):
                raise FileReadError(self.name, ERROR_NO_COLUMN.format(column=column, kind=self.kind_label), "bundle_column_missing")

    def rows(self):
        """(row number, getter) per data row; a row the reader cannot split is refused with its number."""
        for raw in iter_rows(self.path, self.info):
            if raw.problem is not None:
                raise FileReadError(self.name, raw.problem.message, raw.problem.code)
            cells = raw.cells
            yield raw.row, lambda column, cells=cells: _cell(cells, self.columns.get(column.casefold()))


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


class _Writer:
    """A written user file whose row N is row N of its source file (skipped rows are blank lines)."""

    def __init__(self, path: str, columns: tuple[str, ...]):
        self._file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed by close())
        self._csv = csv.writer(self._file)
        self._csv.writerow(columns)
        self._row = 1
        self.written = 0

    def write(self, row: int, values: list[str]) -> None:
        while self._row < row - 1:
            self._csv.writerow([])
            self._row += 1
        self._csv.writerow(values)
        self._row += 1
        self.written += 1

    def close(self) -> None:
        self._file.close()


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _grade(value: str) -> str:
    first = _split(value)[0] if _split(value) else ""
    return CEDS_GRADES.get(first.casefold(), first)


def _role(value: str) -> str | None:
    """student or staff; None for rows that are not imported (guardians); anything else as given."""
    key = value.strip().casefold()
    if key in ROLE_STUDENT:
        return "student"
    if key in ROLE_STAFF:
        return "staff"
    if key in ROLE_SKIPPED:
        return None
    return value


def _is_true(value: str) -> bool:
    return value.strip().casefold() in ("true", "1", "yes", "y")


# --- OneRoster ---------------------------------------------------------------------------------


@dataclass
class _Org:
    value: str  # what the written file says: the identifier, or the sourcedId without one
    name: str
    is_school: bool

    @property
    def label(self) -> str:
        return f"{self.name} ({self.value})" if self.name and self.name != self.value else self.value


def _oneroster(members: dict, workdir: str) -> Bundle:
    label = "OneRoster"
    users = _Table(*members["users.csv"], label)
    users.require("sourcedId", "givenName", "familyName")
    orgs = _read_orgs(_Table(*members["orgs.csv"], label))
    version = "1.1" if users.has("role") else "1.2"
    roles = None
    if version == "1.2":
        if "roles.csv" not in members:
            raise FileReadError(users.name, ERROR_NO_ROLES, "bundle_no_roles")
        roles = _read_roles(_Table(*members["roles.csv"], label))
    demographics = _read_demographics(_Table(*members["demographics.csv"], label)) if "demographics.csv" in members else None
    columns = ONEROSTER_COLUMNS + (DEMOGRAPHIC_COLUMNS if demographics is not None else ())
    bundle = Bundle(kind=ONEROSTER, version=version, skipped=dict.fromkeys(SKIP_REASONS, 0))
    bundle.school_names = {o.value: o.name for o in orgs.values() if o.is_school}
    path = os.path.join(workdir, "users.csv")
    writer = _Writer(path, columns)
    identifiers = 0
    try:
        for row, get in users.rows():
            if get("status").casefold() == "tobedeleted":
                bundle.skipped["tobedeleted"] += 1
                continue
            if get("enabledUser").casefold() == "false":
                bundle.skipped["disabled"] += 1
                continue
            sourced_id = get("sourcedId")
            if roles is not None:
                role, org_ids = roles.get(sourced_id, ("", _split(get("primaryOrgSourcedId"))))
            else:
                role, org_ids = get("role"), _split(get("orgSourcedIds"))
            user_type = _role(role)
            if user_type is None:
                bundle.skipped["guardian"] += 1
                continue
            school, school_name = _school(org_ids, orgs, users.name, row, bundle.warnings)
            identifiers += bool(get("identifier"))
            values = [
                get("identifier"), sourced_id, sourced_id, get("username"), get("givenName"), get("middleName"),
                get("familyName"), get("email"), user_type, _grade(get("grades")), school, school_name,
            ]
            if demographics is not None:
                values += demographics.get(sourced_id, ("", "", "", ""))
            writer.write(row, values)
    finally:
        writer.close()
    # identifier when every imported user has one: a District ID half from one column, half from another never matches twice alike.
    bundle.district_id_column = "identifier" if users.has("identifier") and identifiers == writer.written and identifiers else "sourcedId"
    bundle.mapping = {"district_id": bundle.district_id_column}
    bundle.files = [UserFile(_plain(users.name), path)]
    return bundle


def _plain(display: str) -> str:
    """users.csv (in roster.zip) -> users.csv: the written file is named like the file its rows come from."""
    return display.split(" (in ", 1)[0]


def _read_orgs(table: _Table) -> dict[str, _Org]:
    table.require("sourcedId")
    orgs = {}
    for _, get in table.rows():
        sourced_id = get("sourcedId")
        org_type = get("type").casefold()
        orgs[sourced_id] = _Org(value=get("identifier") or sourced_id, name=get("name"),
                                is_school=org_type not in ("district", "local", "state", "national", "department"))
    return orgs


def _read_roles(table: _Table) -> dict[str, tuple[str, list[str]]]:
    """userSourcedId -> (primary role, its org first, then the user's other orgs)."""
    table.require("userSourcedId", "role", "orgSourcedId")
    found: dict[str, tuple[str, list[str]]] = {}
    for _, get in table.rows():
        if get("status").casefold() == "tobedeleted":
            continue
        user, role, org = get("userSourcedId"), get("role"), get("orgSourcedId")
        primary = get("roleType").casefold() == "primary"
        current = found.get(user)
        if current is None:
            found[user] = (role, [org])
        elif primary:
            found[user] = (role, [org] + [o for o in current[1] if o != org])
        elif org not in current[1]:
            current[1].append(org)
    return found


def _read_demographics(table: _Table) -> dict[str, tuple[str, str, str, str]]:
    """User sourcedId -> (birthdate, gender, race, ethnicity) as the engine's columns read them."""
    key = "userSourcedId" if table.has("userSourcedId") else "sourcedId"
    table.require(key)
    found = {}
    for _, get in table.rows():
        race = ";".join(label for column, label in RACE_COLUMNS if _is_true(get(column)))
        hispanic = get("hispanicOrLatinoEthnicity")
        ethnicity = "" if not hispanic else ("Y" if _is_true(hispanic) else "N")
        found[get(key)] = (get("birthDate"), get("sex"), race, ethnicity)
    return found


def _school(org_ids: list[str], orgs: dict[str, _Org], file_name: str, row: int, warnings: list[str]) -> tuple[str, str]:
    """The first school of the user's orgs (the district org is not a school); a warning names the others."""
    known = [orgs[o] for o in org_ids if o in orgs]
    schools = [o for o in known if o.is_school] or known
    if not schools:
        return (org_ids[0] if org_ids else ""), ""
    first, others = schools[0], schools[1:]
    if others:
        warnings.append(WARNING_SEVERAL_SCHOOLS.format(
            file=file_name, row=row, first=first.label, others=", ".join(o.label for o in others)))
    return first.value, first.name


# --- School Data Sync v1 -----------------------------------------------------------------------


def _sds(members: dict, workdir: str) -> Bundle:
    label = "School Data Sync"
    schools_table = _Table(*members["school.csv"], label)
    schools_table.require("SIS ID", "Name")
    names = {get("SIS ID"): get("Name") for _, get in schools_table.rows()}
    bundle = Bundle(kind=SDS, version="v1", school_names=names, district_id_column="SIS ID")
    seen: dict[str, tuple[int, str]] = {}
    for key, user_type in (("student.csv", "student"), ("teacher.csv", "staff")):
        table = _Table(*members[key], label)
        table.require("SIS ID", "School SIS ID")
        path = os.path.join(workdir, key)
        writer = _Writer(path, SDS_COLUMNS)
        try:
            for row, get in table.rows():
                sis_id, school = get("SIS ID"), get("School SIS ID")
                first = seen.get(f"{user_type}:{sis_id}") if sis_id else None
                if first is not None:
                    bundle.warnings.append(WARNING_LISTED_TWICE.format(
                        file=_plain(table.name), row=row, sis_id=sis_id, first_row=first[0],
                        school=_school_label(school, names), first=_school_label(first[1], names)))
                    continue
                seen[f"{user_type}:{sis_id}"] = (row, school)
                writer.write(row, [
                    sis_id, get("Username"), get("First Name"), get("Middle Name"), get("Last Name"),
                    get("Secondary Email"), user_type, _grade(get("Grade")) if user_type == "student" else "",
                    school, names.get(school, ""), get("State ID"), get("Birthdate"), get("Gender"),
                ])
        finally:
            writer.close()
        bundle.files.append(UserFile(_plain(table.name), path))
    bundle.mapping = {"district_id": "SIS ID", "email": "Secondary Email"}
    return bundle


def _school_label(value: str, names: dict[str, str]) -> str:
    name = names.get(value, "")
    return f"{name} ({value})" if name else value


# --- Classes: the class and enrollment files of a roster upload -----------------------------

CLASS_FILES = {
    ONEROSTER: {"orgs.csv", "classes.csv", "enrollments.csv", "courses.csv", "academicsessions.csv"},
    SDS: {"section.csv", "studentenrollment.csv", "teacherroster.csv"},
}
_ENROLLED_ROLES = {"teacher": "teacher", "student": "student"}


@dataclass
class ClassFiles:
    """A roster upload's class files: (display name, path) by lower-case base name."""

    kind: str
    members: dict

    @property
    def has_classes(self) -> bool:
        needed = {"classes.csv", "enrollments.csv"} if self.kind == ONEROSTER else {"section.csv"}
        return needed <= set(self.members)


def open_class_files(uploads: list[tuple[str, str]], workdir: str) -> ClassFiles | None:
    """The class files of a roster upload (a zip is checked and unpacked like a user bundle); None for other files."""
    zips = [(name, path) for name, path in uploads if name.lower().endswith(".zip")]
    if zips:
        members, _ = _unpack(*zips[0], workdir, with_classes=True)
    else:
        members = {os.path.basename(name).casefold(): (os.path.basename(name), path) for name, path in uploads}
    kind = kind_of(members)
    if kind is None:
        return None
    return ClassFiles(kind, {k: v for k, v in members.items() if k in CLASS_FILES[kind]})


def bundle_class_rows(files: ClassFiles):
    """(file name, row, values) per enrollment; values by the Classes type's field keys (and course_number, term_start, term_end, primary)."""
    if not files.has_classes:
        return iter(())
    return (_oneroster_class_rows if files.kind == ONEROSTER else _sds_class_rows)(files.members)


def class_counts(files: ClassFiles | None) -> dict | None:
    """{"classes": N, "enrollments": M} of an upload's class files; None without classes."""
    if files is None or not files.has_classes:
        return None
    classes, enrollments = set(), 0
    for _, _, values in bundle_class_rows(files):
        classes.add(values["class_sis_id"])
        enrollments += 1
    return {"classes": len(classes), "enrollments": enrollments}


def _oneroster_class_rows(members: dict):
    label = "OneRoster"
    orgs = _read_orgs(_Table(*members["orgs.csv"], label)) if "orgs.csv" in members else {}
    courses, sessions = {}, {}
    if "courses.csv" in members:
        for _, get in _Table(*members["courses.csv"], label).rows():
            courses[get("sourcedId")] = (get("title"), get("courseCode"))
    if "academicsessions.csv" in members:
        for _, get in _Table(*members["academicsessions.csv"], label).rows():
            sessions[get("sourcedId")] = (get("title"), get("startDate"), get("endDate"))
    classes = {}
    table = _Table(*members["classes.csv"], label)
    table.require("sourcedId", "title", "schoolSourcedId")
    for _, get in table.rows():
        if get("status").casefold() == "tobedeleted":
            continue
        school = get("schoolSourcedId")
        course_name, course_number = courses.get(get("courseSourcedId"), ("", ""))
        terms = _split(get("termSourcedIds"))
        term = sessions.get(terms[0], ("", "", "")) if terms else ("", "", "")
        classes[get("sourcedId")] = {
            "class_sis_id": get("sourcedId"), "class_name": get("title"),
            "school_sis_id": orgs[school].value if school in orgs else school,
            "course_name": course_name, "course_number": course_number or get("classCode"),
            "subject": ", ".join(_split(get("subjects"))), "term_name": term[0], "term_start": term[1], "term_end": term[2],
        }
    enrollments = _Table(*members["enrollments.csv"], label)
    enrollments.require("classSourcedId", "userSourcedId", "role")
    for row, get in enrollments.rows():
        role = _ENROLLED_ROLES.get(get("role").strip().casefold())
        the_class = classes.get(get("classSourcedId"))
        if get("status").casefold() == "tobedeleted" or role is None or the_class is None:
            continue
        yield _plain(enrollments.name), row, {**the_class, "district_id": get("userSourcedId"), "role": role, "primary": get("primary")}


def _sds_class_rows(members: dict):
    label = "School Data Sync"
    sections = {}
    table = _Table(*members["section.csv"], label)
    table.require("SIS ID", "School SIS ID", "Section Name")
    for _, get in table.rows():
        sections[get("SIS ID")] = {
            "class_sis_id": get("SIS ID"), "class_name": get("Section Name"), "school_sis_id": get("School SIS ID"),
            "course_name": get("Course Name"), "course_number": get("Course Number") or get("Section Number"),
            "subject": get("Course Subject"), "term_name": get("Term Name"),
            "term_start": get("Term StartDate"), "term_end": get("Term EndDate"),
        }
    for key, role in (("teacherroster.csv", "teacher"), ("studentenrollment.csv", "student")):
        if key not in members:
            continue
        roster = _Table(*members[key], label)
        roster.require("Section SIS ID", "SIS ID")
        for row, get in roster.rows():
            the_class = sections.get(get("Section SIS ID"))
            if the_class is not None:
                yield _plain(roster.name), row, {**the_class, "district_id": get("SIS ID"), "role": role}

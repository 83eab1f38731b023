"""What every roster format shares: reading its members, the safety of a zip, and writing the user files.

A format module reads its source files and hands each person to a UserFileWriter, which writes one
plain CSV per source user file, with headings the engine matches by themselves. A row of a written
file has the row number of its row in the source file (a row not imported is a blank line), so every
message points into the administrator's file. Nothing here touches the database.
"""
import csv
import os
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

from ..pipeline.normalize import Invalid, email, key_of
from ..pipeline.reading import FileReadError, inspect_file, iter_rows

# The zip limits. A roster zip holds a dozen files; only the few we read are unpacked, to disk.
BUNDLE_MAX_MEMBERS = 200
BUNDLE_MAX_DIRECTORY_BYTES = 1 << 20  # the zip's table of contents, read before anything else
BUNDLE_MAX_UNCOMPRESSED = 500 * 1024 * 1024  # what the members we read may unpack to, together
BUNDLE_MAX_RATIO = 100  # a member that unpacks to over 100 times its size (and over 1 MiB) is a bomb
COPY_CHUNK = 64 * 1024
MAX_LISTED = 100  # warnings and skipped people kept in the job's summary

ERROR_NOT_A_ZIP = "is not a readable zip archive"
ERROR_NOT_A_BUNDLE = (
    "is a zip archive without roster files: OneRoster (users.csv and orgs.csv), School Data Sync "
    "(School.csv, Student.csv and Teacher.csv, or users.csv and orgs.csv) or Clever (schools.csv, students.csv and teachers.csv)"
)
ERROR_ZIP_WITH_OTHERS = "is a zip archive: upload a roster zip on its own"
ERROR_TOO_MANY_MEMBERS = "is refused: it holds {count:,} files and a roster zip may hold at most {limit:,}"
ERROR_UNSAFE_NAME = 'is refused: it holds a file with an unsafe path ("{member}")'
ERROR_ENCRYPTED = 'is refused: "{member}" in it is password-protected'
ERROR_BOMB = 'is refused: "{member}" in it unpacks to {ratio:,.0f} times its size, which only a zip bomb does'
ERROR_TOO_LARGE = "is refused: the files to read in it unpack to more than {limit} MiB"
ERROR_TWICE = 'is refused: it holds "{member}" twice'
ERROR_NO_COLUMN = 'has no "{column}" column, which a {kind} file has'
WARNING_SEVERAL_SCHOOLS = "{file} row {row}: the user is in several schools; imported into {first}, not {others}."
NOTE_EMAIL_FROM_USERNAME = "Email Address taken from the username for {count} staff."

# Why a person of the bundle is not imported; the wizard, the command line and the report say it so.
SKIP_REASONS = {
    "tobedeleted": "marked tobedeleted",
    "disabled": "with enabledUser false",
    "guardian": "guardians, parents or relatives",
    "no_role": "with no role in the bundle",
}

STUDENT, STAFF = "student", "staff"
# Roles that are not users of Classworks: their rows are skipped by the format, with their names.
NOT_USER_ROLES = {"guardian", "parent", "relative"}
# Every role of OneRoster 1.1/1.2 and SDS v2.1 that a K-12 staff member has. Post-secondary roles (professor,
# lecturer) are not here: they reach value mapping, which suggests skipping them.
STAFF_ROLES = {key_of(r) for r in (
    "teacher", "administrator", "aide", "proctor", "districtAdministrator", "siteAdministrator", "principal",
    "systemAdministrator", "counselor", "staff", "faculty", "teacherAssistant", "assistant", "paraprofessional",
    "specialServices", "advisor", "nurse", "officeStaff", "itAdmin", "substitute", "coach", "instructor",
    "occupationalTherapist", "physicalTherapist", "speechTherapist", "visionTherapist", "chair",
)}
# CEDS grade codes whose meaning is certain; the rest (PS, UG, 13, other) pass through to value mapping.
CEDS_GRADES = {"it": "PK", "pr": "PK", "pk": "PK", "tk": "PK", "kg": "K"}
RACE_COLUMNS = (
    ("americanIndianOrAlaskaNative", "American Indian or Alaska Native"),
    ("asian", "Asian"),
    ("blackOrAfricanAmerican", "Black or African American"),
    ("nativeHawaiianOrOtherPacificIslander", "Native Hawaiian or Other Pacific Islander"),
    ("white", "White"),
    ("demographicRaceTwoOrMoreRaces", "Two or more races"),
)
_RACE_BY_CODE = {key_of(column): label for column, label in RACE_COLUMNS}
# userFlags.csv (SDS v2.1) flag -> the User Data column it sets to Y.
FLAG_COLUMNS = {
    "iep": "Disabled", "freelunch": "Economically Disadvantaged", "reducedlunch": "Economically Disadvantaged",
    "ell": "Limited English", "migrant": "Migrant",
}
# Org types that are not K-12: their people come with the suggestion to skip them (so do departments under them).
HIGHER_ED_ORGS = {"college", "university"}

# The columns of a written user file, in order; a format writes those it has data for.
USER_COLUMNS = (
    "District ID", "identifier", "sourcedId", "OneRoster sourcedId", "Username", "Password", "First Name", "Middle Name", "Last Name",
    "Email Address", "User Type", "Grade", "School SIS ID", "School Name", "State User ID", "Birthdate", "Gender",
    "Ethnicity", "Race", "Disabled", "Economically Disadvantaged", "Limited English", "Migrant",
)
DEMOGRAPHIC_COLUMNS = ("Birthdate", "Gender", "Ethnicity", "Race")
FLAG_OUTPUT = ("Disabled", "Economically Disadvantaged", "Limited English", "Migrant")

CLASS_ROW_KEYS = (
    "class_sis_id", "class_name", "school_sis_id", "district_id", "role", "course_name", "course_number", "subject",
    "term_name", "term_start", "term_end", "primary", "file", "row",
)


@dataclass(frozen=True)
class UserFile:
    """One written user file: the name messages use, and where it is on disk."""

    name: str
    path: str


@dataclass
class Bundle:
    """What a format made of an upload: the user files the import reads, and what it says about them."""

    kind: str  # the format module's NAME
    version: str
    label: str
    files: list[UserFile] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # field key -> column of the written files
    district_id_column: str = ""  # the source column District ID comes from
    skipped: dict[str, int] = field(default_factory=dict)  # why (SKIP_REASONS) -> people not imported
    skipped_people: list[dict] = field(default_factory=list)  # file, row, name, reason (the first MAX_LISTED)
    ignored_files: list[str] = field(default_factory=list)
    class_files: list[str] = field(default_factory=list)  # recognised class and enrollment files
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the format did for the admin, shown on Review
    school_names: dict[str, str] = field(default_factory=dict)  # school value of the file -> school name
    not_k12_schools: list[str] = field(default_factory=list)  # school values of colleges and universities
    class_reader: Callable[[], Iterator[dict]] | None = None
    format_module: str = ""  # the module of imports/formats that read it

    def skip(self, why: str, *, file: str, row: int, name: str) -> None:
        self.skipped[why] = self.skipped.get(why, 0) + 1
        if len(self.skipped_people) < MAX_LISTED:
            self.skipped_people.append({"file": file, "row": row, "name": name, "reason": SKIP_REASONS[why]})

    @property
    def has_classes(self) -> bool:
        return self.class_reader is not None

    def class_rows(self) -> Iterator[dict]:
        """One dict per enrollment (CLASS_ROW_KEYS) from the bundle's class files; nothing when it has none.

        Reads the unpacked members again: call it while the upload's work folder exists.
        """
        if self.class_reader is None:
            return iter(())
        return self.class_reader()

    @property
    def not_imported(self) -> list[str]:
        return [f"{self.skipped[why]} {reason}" for why, reason in SKIP_REASONS.items() if self.skipped.get(why)]

    def summary(self) -> dict:
        """What the job keeps about the bundle: counts, names and choices."""
        return {
            "kind": self.kind, "version": self.version, "label": self.label, "mapping": self.mapping,
            "district_id_column": self.district_id_column, "skipped": self.skipped,
            "skipped_total": sum(self.skipped.values()), "skipped_people": self.skipped_people,
            "ignored_files": self.ignored_files, "class_files": self.class_files,
            "not_imported": self.not_imported, "notes": self.notes,
            "warnings": self.warnings[:MAX_LISTED], "warning_count": len(self.warnings),
            "school_names": self.school_names, "not_k12_schools": self.not_k12_schools,
        }


# --- Reading a member ------------------------------------------------------------------------


class Table:
    """One CSV of a bundle: its headings by name (case ignored) and its rows, streamed. A header-only file is empty."""

    def __init__(self, display: str, path: str, kind_label: str):
        self.name, self.path, self.kind_label = display, path, kind_label
        try:
            self.info = inspect_file(path, display, has_header=True)
            headers = self.info.headers
        except FileReadError as exc:
            if exc.code != "no_data_rows":
                raise
            self.info, headers = None, _first_line(path)
        self.columns = {h.casefold(): i for i, h in enumerate(headers)}

    def has(self, column: str) -> bool:
        return column.casefold() in self.columns

    def require(self, *columns: str) -> None:
        for column in columns:
            if not self.has(column):
                raise FileReadError(self.name, ERROR_NO_COLUMN.format(column=column, kind=self.kind_label), "bundle_column_missing")

    def rows(self):
        """(row number, getter) per data row; a row the reader cannot split is refused with its number."""
        if self.info is None:
            return
        columns = self.columns
        for raw in iter_rows(self.path, self.info):
            if raw.problem is not None:
                raise FileReadError(self.name, raw.problem.message, raw.problem.code)
            cells = raw.cells
            yield raw.row, lambda column, cells=cells: _cell(cells, columns.get(column.casefold()))


def _first_line(path: str) -> list[str]:
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        return [h.strip() for h in next(csv.reader(f), [])]


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def tables(members: dict, kind_label: str) -> dict[str, Table]:
    """The members (base name in lower case -> (display name, path)) as Tables."""
    return {key: Table(display, path, kind_label) for key, (display, path) in members.items()}


def plain_name(display: str) -> str:
    """users.csv (in roster.zip) -> users.csv: a written file is named like the file its rows come from."""
    return display.split(" (in ", 1)[0]


# --- Values -------------------------------------------------------------------------------------


def split_list(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]


def grade_code(value: str) -> str:
    """The first of a list of grades, with the CEDS codes whose meaning is certain made plain."""
    parts = split_list(value)
    first = parts[0] if parts else ""
    return CEDS_GRADES.get(first.casefold(), first)


def user_type_of(role: str) -> str | None:
    """student or staff; None for someone who is not a user (guardian); any other role as given, for value mapping."""
    key = key_of(role)
    if key == STUDENT:
        return STUDENT
    if key in STAFF_ROLES:
        return STAFF
    if key in NOT_USER_ROLES:
        return None
    return role.strip()


def is_true(value: str) -> bool:
    return value.strip().casefold() in ("true", "1", "yes", "y")


def yes_no(value: str) -> str:
    """A boolean cell as Y/N; blank stays blank (not given: a stored value is kept)."""
    if not value.strip():
        return ""
    return "Y" if is_true(value) else "N"


def races_of(get: Callable[[str], str]) -> str:
    """The race columns of OneRoster and SDS demographics, and SDS v2.1's raceCodes list."""
    found = [label for column, label in RACE_COLUMNS if is_true(get(column))]
    for code in split_list(get("raceCodes")):
        label = _RACE_BY_CODE.get(key_of(code))
        if label and label not in found:
            found.append(label)
    return ";".join(found)


def ethnicity_of(get: Callable[[str], str]) -> str:
    """hispanicOrLatinoEthnicity, or SDS v2.1's ethnicityCodes (a code naming Hispanic or Latino means Y)."""
    flag = get("hispanicOrLatinoEthnicity")
    if flag.strip():
        return yes_no(flag)
    codes = [key_of(c) for c in split_list(get("ethnicityCodes"))]
    if not codes:
        return ""
    hispanic = any("hispanic" in c and not c.startswith("not") for c in codes)
    return "Y" if hispanic else "N"


def full_name(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


# --- Orgs and schools -------------------------------------------------------------------------------


@dataclass
class Org:
    value: str  # the school value the written file says: the identifier, or the sourcedId without one
    name: str
    type: str  # lower case
    parent: str = ""  # parent org's sourcedId

    @property
    def label(self) -> str:
        return f"{self.name} ({self.value})" if self.name and self.name != self.value else self.value


def read_orgs(table: Table) -> dict[str, Org]:
    table.require("sourcedId")
    return {
        get("sourcedId"): Org(value=get("identifier") or get("sourcedId"), name=get("name"), type=get("type").casefold(),
                              parent=get("parentSourcedId"))
        for _, get in table.rows()
    }


class Schools:
    """Which school a person belongs to, from their orgs (primary first), as the formats' specifications say.

    A school-type org is a school. A department belongs to its parent school when the file has it, and is
    itself the school value otherwise. Colleges and universities, and their departments, are schools that
    are not K-12: their value comes with the suggestion to skip its rows.
    """

    def __init__(self, orgs: dict[str, Org]):
        self.orgs = orgs

    def school_of(self, org_id: str) -> Org | None:
        org = self.orgs.get(org_id)
        if org is None:
            return None
        if org.type == "department":
            parent = self.orgs.get(org.parent)
            if parent is not None and (parent.type == "school" or parent.type in HIGHER_ED_ORGS):
                return parent
            return org
        if org.type == "school" or org.type in HIGHER_ED_ORGS:
            return org
        return None

    def not_k12(self, org: Org) -> bool:
        return org.type in HIGHER_ED_ORGS

    def school_names(self) -> dict[str, str]:
        """Every org's value -> its name: what Create school proposes for a value, whatever its type."""
        return {o.value: o.name for o in self.orgs.values() if o.name}

    def not_k12_values(self) -> list[str]:
        return sorted({o.value for o in (self.school_of(k) for k in self.orgs) if o is not None and self.not_k12(o)})

    def pick(self, org_ids: list[str], *, file: str, row: int, warnings: list[str]) -> tuple[str, str]:
        """(school value, school name) of the first of the user's orgs that is a school; a warning names the others."""
        schools: list[Org] = []
        for org_id in org_ids:
            school = self.school_of(org_id)
            if school is not None and school not in schools:
                schools.append(school)
        if not schools:
            # No school among them: the first org the file names is the value to map (or an unknown id).
            first = self.orgs.get(org_ids[0]) if org_ids else None
            return (first.value, first.name) if first else ((org_ids[0] if org_ids else ""), "")
        first, others = schools[0], schools[1:]
        if others:
            warnings.append(WARNING_SEVERAL_SCHOOLS.format(
                file=file, row=row, first=first.label, others=", ".join(o.label for o in others)))
        return first.value, first.name


# --- Roles ------------------------------------------------------------------------------------------


@dataclass
class Role:
    role: str
    org: str
    primary: bool
    grade: str = ""


def read_roles(table: Table, *, primary: Callable[[Callable[[str], str]], bool]) -> dict[str, list[Role]]:
    """roles.csv (OneRoster 1.2, SDS v2.1): userSourcedId -> the user's roles; tobedeleted roles are left out."""
    table.require("userSourcedId", "role", "orgSourcedId")
    found: dict[str, list[Role]] = {}
    for _, get in table.rows():
        if get("status").casefold() == "tobedeleted":
            continue
        found.setdefault(get("userSourcedId"), []).append(
            Role(get("role"), get("orgSourcedId"), primary(get), get("grade")))
    return found


def main_role(roles: list[Role]) -> tuple[str, list[str], str]:
    """(role, orgs with the role's first, grade) of a user's roles: the primary role decides.

    A user whose primary role is guardian but who also teaches is a teacher: another role of theirs
    does not stop them being a user. A secondary guardian role never makes a teacher a guardian.
    """
    ordered = sorted(roles, key=lambda r: not r.primary)
    users = [r for r in ordered if user_type_of(r.role) is not None]
    main = (users or ordered)[0]
    # A guardian role's org is where their child is, not a school of theirs.
    orgs = [main.org] + [r.org for r in (users or ordered) if r.org != main.org]
    grade = main.grade or next((r.grade for r in ordered if r.grade), "")
    return main.role, list(dict.fromkeys(o for o in orgs if o)), grade


# --- Writing a user file --------------------------------------------------------------------------------


class UserFileWriter:
    """A written user file whose row N is row N of its source file (rows not imported are blank lines)."""

    def __init__(self, bundle: Bundle, source_name: str, path: str, columns: set[str]):
        self.bundle, self.source_name, self.path = bundle, plain_name(source_name), path
        self.columns = [c for c in USER_COLUMNS if c in columns]
        self._file = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed by close())
        self._csv = csv.writer(self._file)
        self._csv.writerow(self.columns)
        self._row = 1
        self.written = 0
        self.email_from_username = 0

    def skip(self, why: str, row: int, name: str) -> None:
        self.bundle.skip(why, file=self.source_name, row=row, name=name)

    def write(self, row: int, person: dict[str, str]) -> None:
        if person.get("User Type") == STAFF and not person.get("Email Address") and "Email Address" in self.columns:
            # Staff sign in by email; an SIS that gives none often uses the address as the username.
            username = person.get("Username", "")
            if "@" in username and not isinstance(email(username), Invalid):
                person["Email Address"] = username.strip()
                self.email_from_username += 1
        while self._row < row - 1:
            self._csv.writerow([])
            self._row += 1
        self._csv.writerow([person.get(c, "") for c in self.columns])
        self._row += 1
        self.written += 1

    def close(self) -> UserFile:
        self._file.close()
        return UserFile(self.source_name, self.path)


def finish(bundle: Bundle, writers: list[UserFileWriter]) -> Bundle:
    """The bundle with its written files and the note on emails taken from usernames."""
    files = [(w.close(), w.written) for w in writers]
    # A member with a header and no rows (an SIS with no staff this year) is an empty set: its file is left out.
    bundle.files = [f for f, written in files if written] or [f for f, _ in files[:1]]
    taken = sum(w.email_from_username for w in writers)
    if taken:
        bundle.notes.append(NOTE_EMAIL_FROM_USERNAME.format(count=taken))
    return bundle


# --- Zip safety ----------------------------------------------------------------------------


def unpack(name: str, path: str, workdir: str, wanted_names: set[str], might_be_bundle: Callable[[set[str]], bool]) -> tuple[dict, list[str]]:
    """Check the zip, then copy only the members a format reads to workdir, streaming and counted.

    Returns (base name in lower case -> (display name, path on disk)) and the names of the other files.
    """
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
        if not might_be_bundle({PurePosixPath(i.filename).name.casefold() for i in files}):
            raise FileReadError(name, ERROR_NOT_A_BUNDLE, "not_a_bundle")
        wanted, ignored = {}, []
        for info in files:
            key = PurePosixPath(info.filename).name.casefold()
            if key not in wanted_names:
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
            members[key] = (f"{PurePosixPath(info.filename).name} (in {name})", target)
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
    too_many = ERROR_TOO_MANY_MEMBERS.format(count=entries, limit=BUNDLE_MAX_MEMBERS)
    # zip64 (more entries than a roster zip has), too many entries, or a huge table of contents
    if entries == 0xFFFF or directory_size == 0xFFFFFFFF or entries > BUNDLE_MAX_MEMBERS or directory_size > BUNDLE_MAX_DIRECTORY_BYTES:
        raise FileReadError(name, too_many, "zip_too_many_files")


def _unsafe(member: str) -> bool:
    if "\x00" in member or member.startswith(("/", "\\")) or PureWindowsPath(member).drive:
        return True
    return ".." in member.replace("\\", "/").split("/")


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


# --- Classes and enrollments -------------------------------------------------------------------------


@dataclass
class ClassInfo:
    name: str
    school_sis_id: str
    course_id: str = ""
    term_ids: tuple[str, ...] = ()
    course_name: str = ""
    course_number: str = ""
    subject: str = ""
    term_name: str = ""
    term_start: str = ""
    term_end: str = ""


def class_rows(classes: dict[str, ClassInfo], courses: dict[str, tuple[str, str, str]], terms: dict[str, tuple[str, str, str]],
               enrollments: Iterator[tuple], district_ids: dict[str, str]) -> Iterator[dict]:
    """One dict (CLASS_ROW_KEYS) per (class, person, role): the class with its course and first term filled in.

    An enrollment is (class id, user id, role, file name, row, primary) and says where messages point."""
    for class_id, user_id, role, file, row, primary in enrollments:
        info = classes.get(class_id)
        if info is None:
            continue
        course_name, course_number, subject = courses.get(info.course_id, (info.course_name, info.course_number, info.subject))
        term = next((terms[t] for t in info.term_ids if t in terms), (info.term_name, info.term_start, info.term_end))
        yield {
            "class_sis_id": class_id, "class_name": info.name, "school_sis_id": info.school_sis_id,
            "district_id": district_ids.get(user_id, user_id), "role": role,
            "course_name": course_name or info.course_name, "course_number": course_number or info.course_number,
            "subject": subject or info.subject, "term_name": term[0], "term_start": term[1], "term_end": term[2],
            "primary": primary, "file": file, "row": row,
        }

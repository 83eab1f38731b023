"""Input formats: one module per roster export, each turning its files into rows of an import type.

The registry recognises an upload: a zip, or loose files (a whole export folder), of OneRoster 1.1 or 1.2,
School Data Sync v1, v2 or v2.1, or Clever's district files; anything else is a plain CSV/XLSX file
(plain.py). A new format is one module here, listed in FORMATS, and its fixture folder.
"""
import os

from ..pipeline.reading import FileReadError
from . import clever, common, oneroster_11, oneroster_12, plain, sds_v1, sds_v2
from .common import (  # noqa: F401 (the formats' public names)
    CLASS_ROW_KEYS, ERROR_NOT_A_BUNDLE, ERROR_ZIP_WITH_OTHERS, SKIP_REASONS, Bundle, UserFile,
)

# Asked in this order: OneRoster before SDS v2, whose users.csv and orgs.csv have the same names.
FORMATS = (clever, sds_v1, oneroster_12, oneroster_11, sds_v2)


def _members() -> frozenset[str]:
    """The base names (lower case) some format reads; a zip's other files are not unpacked."""
    return frozenset().union(*(f.MEMBERS for f in FORMATS))


def might_be_bundle(names: set[str]) -> bool:
    """Whether these base names (lower case) hold the files some format requires."""
    return any(f.REQUIRED <= names for f in FORMATS)


def open_bundle(uploads: list[tuple[str, str]], workdir: str) -> Bundle | None:
    """The roster export in these (name, path) uploads, its user files written to workdir; None for plain files.

    A zip is checked (member count, path names, sizes) before anything in it is read. Raises
    FileReadError naming the file for a hostile or unusable upload.
    """
    # By name only: a zip named .csv is refused by the reader as "not a CSV file", as before.
    zips = [(name, path) for name, path in uploads if name.lower().endswith(".zip")]
    if zips:
        name, path = zips[0]
        if len(uploads) > 1:
            raise FileReadError(name, ERROR_ZIP_WITH_OTHERS, "zip_with_others")
        members, ignored = common.unpack(name, path, workdir, _members(), might_be_bundle)
        bundle = _read(members, workdir)
        if bundle is None:
            raise FileReadError(name, ERROR_NOT_A_BUNDLE, "not_a_bundle")
    else:
        members = {os.path.basename(n).casefold(): (os.path.basename(n), p) for n, p in uploads}
        if not might_be_bundle(set(members)):
            return None
        known = _members()
        ignored = sorted(display for key, (display, _) in members.items() if key not in known)
        bundle = _read({k: v for k, v in members.items() if k in known}, workdir)
        if bundle is None:
            return None
    bundle.ignored_files = sorted(ignored + [m[0] for k, m in members.items() if k in _members() and not _read_by(bundle, k)])
    return bundle


def format_of(tables: dict) -> object | None:
    """The format module that recognises these member tables, or None."""
    return next((f for f in FORMATS if f.recognises(tables)), None)


def _read(members: dict, workdir: str) -> Bundle | None:
    tables = common.tables(members, "roster")
    found = format_of(tables)
    if found is None:
        return None
    for table in tables.values():
        table.kind_label = found.KIND_LABEL
    bundle = found.read({k: t for k, t in tables.items() if k in found.MEMBERS}, workdir)
    bundle.format_module = found.__name__
    return bundle


def _read_by(bundle: Bundle, key: str) -> bool:
    return key in next(f for f in FORMATS if f.__name__ == bundle.format_module).MEMBERS


def plain_upload(names: list[str]) -> bool:
    """Whether these uploads are ordinary files (no roster export among them)."""
    return plain.recognises(names) and not might_be_bundle({os.path.basename(n).casefold() for n in names})


# The Classes import reads a roster upload's class files through these three.
_ENROLLED_ROLES = frozenset({"teacher", "student", "aide", ""})


def open_class_files(uploads: list[tuple[str, str]], workdir: str) -> Bundle | None:
    """The roster export in these uploads when it holds classes (class and enrollment files); None otherwise."""
    bundle = open_bundle(uploads, workdir)
    return bundle if bundle is not None and bundle.class_reader is not None else None


def bundle_class_rows(bundle: Bundle):
    """(file name, row, values) per enrollment of a teacher or a student; other enrolled roles are not class members."""
    for values in bundle.class_rows():
        if values["role"].strip().casefold() in _ENROLLED_ROLES:
            yield values["file"], values["row"], {k: v for k, v in values.items() if k not in ("file", "row")}


def class_counts(bundle: Bundle | None) -> dict | None:
    """{"classes": N, "enrollments": M} of an upload's class files; None without classes."""
    if bundle is None or bundle.class_reader is None:
        return None
    classes, enrollments = set(), 0
    for _, _, values in bundle_class_rows(bundle):
        classes.add(values["class_sis_id"])
        enrollments += 1
    return {"classes": len(classes), "enrollments": enrollments} if enrollments else None

"""Plain CSV (RFC 4180: https://www.rfc-editor.org/rfc/rfc4180) and Excel workbooks (ECMA-376: https://ecma-international.org/publications-and-standards/standards/ecma-376/).

An ordinary file is already rows of an import type: its own headings are matched to fields on Map
Fields. imports/pipeline/reading.py decodes it (encodings, delimiters, line endings, xlsx); this module
only says which uploads are plain files.
"""
import os

NAME = "plain"
LABEL = "CSV or Excel file"
EXTENSIONS = (".csv", ".xlsx", ".txt", ".tsv")


def recognises(names: list[str]) -> bool:
    """Every upload is a CSV, text or Excel file (a roster export is recognised before this is asked)."""
    return bool(names) and all(os.path.splitext(n)[1].lower() in EXTENSIONS for n in names)

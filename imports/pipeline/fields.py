"""An import field: key, heading, aliases, required-ness, the stored column and the rule.

The fields themselves are declared once per import type, in imports/types/.
"""
import re
from collections.abc import Callable
from dataclasses import dataclass

from .normalize import Rule


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    heading: str
    required: bool = False  # must be matched to a column or given one value for the whole file
    aliases: tuple[str, ...] = ()  # suggested on Map Fields, matched only once the admin accepts
    rule: Rule = Rule()
    column: str = ""  # the users.User column it is stored in; the key when blank
    hold: bool = False  # a change to it counts towards the safety hold (what a wrong file mass-edits)
    fixed_choices: tuple[tuple[str, str], ...] = ()  # the "one value for every row" menu, when not free text
    export_from: str = ""  # the user attribute the export reads (dotted), when not the column
    # A field fed by several columns (a OneRoster file's race columns): each column is a field of its
    # own with part_of naming the combined field, and the combined field's combine turns the parts'
    # values ({part key: value or None}) into its own. A part is never stored itself.
    part_of: str = ""
    # Other headings that match at once, like the heading: a published layout's own name for the field.
    also_matches: tuple[str, ...] = ()
    combine: Callable[[dict], object] | None = None

    @property
    def label(self) -> str:
        return f"{self.heading} *" if self.required else self.heading

    @property
    def stored_column(self) -> str:
        return self.column or self.key


_SEPARATORS = re.compile(r"[\s_\-]+")


def normalize_heading(text: str) -> str:
    """Compare headings ignoring case, spaces, `_` and `-` (and a trailing `*`)."""
    return _SEPARATORS.sub("", text.strip().rstrip("*").strip()).casefold()


def heading_index(fields) -> tuple[dict[str, str], dict[str, str]]:
    """Normalised heading -> key, and normalised alias -> key (an alias never shadows a heading)."""
    headings = {normalize_heading(h): f.key for f in fields for h in (f.heading, *f.also_matches)}
    aliases = {
        normalize_heading(alias): f.key
        for f in fields
        for alias in f.aliases
        if normalize_heading(alias) not in headings
    }
    return headings, aliases


# Normalised headings of every import type, registered by each declaration as it is made (imports/types):
# the reader tells a header row from data by them, without depending on the declarations.
_KNOWN_HEADINGS: set[str] = set()


def register_headings(words) -> None:
    """Add an import type's normalised headings and aliases to those is_known_heading knows."""
    _KNOWN_HEADINGS.update(words)


def is_known_heading(text: str) -> bool:
    """True when a cell reads like a heading or known alias of any import type (used to detect a header row)."""
    norm = normalize_heading(text)
    return bool(norm) and norm in _KNOWN_HEADINGS

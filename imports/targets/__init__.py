"""Write targets: where each import type writes, by its ImportSpec.import_type."""
from .classes import ClassesTarget

TARGETS = {"classes": ClassesTarget}

"""Development on the embedded default: SQLite and a broker that needs no server."""
import os

from .base import *  # noqa: F401,F403

# DJANGO_DEBUG=0 for measurements: with DEBUG on, Django keeps the text of every query in memory.
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"

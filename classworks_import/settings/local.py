"""Development on the embedded default: SQLite and a broker that needs no server."""
from .base import *  # noqa: F401,F403

DEBUG = True

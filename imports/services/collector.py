"""Python's cycle collector kept out of the way of a pass over a whole file."""
import gc
from contextlib import contextmanager


@contextmanager
def few_collections():
    """A pass makes millions of short-lived, acyclic objects (freed by reference counting anyway): the
    collector's frequent scans of the young ones and of everything older cost a seventh of a million-row
    validation pass (measured). Collections still run, a hundred times less often; what existed before the
    pass (Django, the modules) is never scanned by them."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(70_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()

"""The pure import pipeline: decode, parse, map, normalise, validate and classify rows.

Nothing here touches the request or writes to the database. It takes rows and plain
look-up dicts and returns small dataclasses, so it is tested without a database.
"""

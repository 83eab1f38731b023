"""The Classes check's people, looked up and enrolled a whole file at once (polars): one join of every row's
District ID with the district's people, one group-by of the students by class.

Only for a file in which no row needs a look of its own: every District ID a person's, no person against their
role or of another school than a student's class, no one listed twice in a class. Anything else gives None, and
the file is checked row by row (class_rows.class_blocks_check), which says what each such row is.
"""
from collections.abc import Mapping

import polars as pl

from .normalize import STAFF, STUDENT


def people_at_once(
    *, rows: list[list], people: Mapping[str, tuple], school_of: Mapping[str, int],
    teacher: str, student: str,
) -> tuple[list[tuple[int, str, int]], dict[str, set[int]]] | None:
    """Each row's person. rows: [District ID cells, class SIS IDs, roles], handed over (emptied: the frame replaces
    them); people: District ID cell -> (user id, user type, school id); school_of: class SIS ID -> its school's id.

    Returns the teachers' rows as (position, class SIS ID, user id) in row order, and each class's students (classes in
    the order of their first student's row); None when a row needs a look of its own."""
    texts, sis_ids, roles = rows
    rows.clear()
    if not set(roles) <= {teacher, student}:
        return None
    frame = pl.DataFrame({"text": texts, "sis": sis_ids, "teacher": [role == teacher for role in roles]},
                         schema={"text": pl.String, "sis": pl.String, "teacher": pl.Boolean})
    del texts, sis_ids, roles  # the frame holds the rows now
    known = pl.DataFrame(
        {"text": list(people), "user": [p[0] for p in people.values()], "type": [p[1] for p in people.values()],
         "school": [p[2] for p in people.values()]},
        schema={"text": pl.String, "user": pl.Int64, "type": pl.String, "school": pl.Int64},
    )
    schools = pl.DataFrame({"sis": list(school_of), "class_school": list(school_of.values())},
                           schema={"sis": pl.String, "class_school": pl.Int64})
    is_teacher = pl.col("teacher")
    joined = (frame.lazy().join(known.lazy(), on="text", how="left", maintain_order="left")
            .join(schools.lazy(), on="sis", how="left", maintain_order="left")
            .select(
                "sis", "teacher", "user",
                (pl.col("user").is_null()  # no such person (or a cell to be read by the District ID's rule first)
                 | (is_teacher & (pl.col("type") == STUDENT)) | (~is_teacher & (pl.col("type") == STAFF))
                 | (~is_teacher & pl.col("school").is_not_null() & (pl.col("school") != pl.col("class_school")))).alias("look"),
            ).collect())
    del frame
    if joined["look"].any():
        return None
    if joined.group_by("sis").agg(pl.len() != pl.col("user").n_unique())["len"].any():  # someone listed twice in a class
        return None
    teachers = joined.with_row_index("i").filter(is_teacher).select("i", "sis", "user")
    students = joined.filter(~is_teacher).group_by("sis", maintain_order=True).agg("user").to_dict(as_series=False)
    return list(teachers.iter_rows()), dict(zip(students["sis"], map(set, students["user"])))

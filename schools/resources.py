"""The school file (`Name,SIS ID`) as a django-import-export resource, bound to one district."""

from pathlib import Path

from import_export import resources
from import_export.fields import Field
from tablib import Dataset

from .models import District, School

HEADING_NAME = "Name"
HEADING_SIS_ID = "SIS ID"
HEADINGS = (HEADING_NAME, HEADING_SIS_ID)


class SchoolResource(resources.ModelResource):
    """Matches rows to the district's schools by SIS ID: a second run updates instead of duplicating."""

    name = Field(attribute="name", column_name=HEADING_NAME)
    sis_id = Field(attribute="sis_id", column_name=HEADING_SIS_ID)

    class Meta:
        model = School
        fields = ("name", "sis_id")
        import_id_fields = ("sis_id",)
        skip_unchanged = True
        report_skipped = True
        # full_clean() checks lengths, blanks and the per-district SIS ID constraint before saving.
        clean_model_instances = True

    def __init__(self, *, district: District, **kwargs):
        super().__init__(**kwargs)
        self.district = district

    def get_queryset(self):
        # The instance loader looks up existing rows here: only this district's schools can match.
        return School.objects.filter(district=self.district)

    def init_instance(self, row=None):
        return School(district=self.district)

    def before_import_row(self, row, **kwargs):
        for heading in HEADINGS:
            if isinstance(row.get(heading), str):
                row[heading] = row[heading].strip()

    def after_import(self, dataset, result, **kwargs):
        # Deliberately skip ModelResource's sequence reset: ids are never imported, and resetting
        # a PostgreSQL sequence to max(id) races with concurrent inserts.
        pass


def school_dataset_from_file(path) -> Dataset:
    """Read a school CSV file into a dataset: UTF-8 (with or without BOM), else Windows-1252."""
    raw = Path(path).read_bytes()
    # A short list of names defeats statistical detection; US district files that are not
    # UTF-8 are almost always Excel's Windows-1252.
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    dataset = Dataset().load(text, format="csv")
    dataset.headers = [(h or "").strip() for h in (dataset.headers or [])]
    return _as_school_file(dataset)


def _as_school_file(dataset: Dataset) -> Dataset:
    """A roster export's school list as Name,SIS ID rows; any other file as it is.

    OneRoster and School Data Sync v2/v2.1 orgs.csv: the orgs of type school, SIS ID the identifier, else
    the sourcedId (what their users' school values say); Clever schools.csv: School_id and School_name.
    SDS v1 School.csv has Name and SIS ID already. The user import's formats (imports/formats/) read them alike.
    """
    column = {h.casefold(): i for i, h in enumerate(dataset.headers or [])}

    def cell(row, name):
        i = column.get(name.casefold())
        return (row[i] or "").strip() if i is not None and i < len(row) else ""

    if {"sourcedid", "name", "type"} <= column.keys():
        rows = [(cell(r, "name"), cell(r, "identifier") or cell(r, "sourcedId")) for r in dataset if cell(r, "type").casefold() == "school"]
    elif {"school_id", "school_name"} <= column.keys():
        rows = [(cell(r, "School_name"), cell(r, "School_id")) for r in dataset]
    else:
        return dataset
    return Dataset(*rows, headers=list(HEADINGS))

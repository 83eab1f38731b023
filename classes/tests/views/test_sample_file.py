import csv
import io

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_classes_sample_file_has_the_types_headings_and_example_rows(district_admin_client):
    response = district_admin_client.get(reverse("imports:sample_csv"), {"type": "classes"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))

    assert rows[0] == ["Class SIS ID", "Class Name", "School SIS ID", "District ID", "Role", "Course Name", "Subject", "Term"]
    assert [r[4] for r in rows[1:]] == ["teacher", "student", ""]
    assert "classworks_classes_sample.csv" in response["Content-Disposition"]

"""Matching the file's columns to our fields, and its school values to the district's schools."""
import pytest

from imports.pipeline.mapping import (
    SchoolChoice, missing_required, plan_columns, propose_field_mapping, propose_school_mapping,
)
from imports.types import USER_DATA


@pytest.mark.parametrize(
    "label",
    ["First Name", "first name", "FIRST NAME", "first_name", "First-Name", "FirstName", "  first   name ", "First Name *"],
)
def test_headings_match_ignoring_case_spaces_underscores_and_hyphens(label):
    proposal = propose_field_mapping([label, "Other"], has_header=True, spec=USER_DATA)

    assert proposal.matched == {"first_name": label}


def test_a_standard_export_matches_every_field():
    labels = ["First Name", "Last Name", "District ID", "User Type", "Grade", "Email Address", "School SIS ID"]

    proposal = propose_field_mapping(labels, has_header=True, spec=USER_DATA)

    assert proposal.matched == {
        "first_name": "First Name", "last_name": "Last Name", "district_id": "District ID", "user_type": "User Type",
        "grade": "Grade", "email": "Email Address", "school_sis_id": "School SIS ID",
    }
    assert proposal.suggestions == {}


@pytest.mark.parametrize(
    ("label", "key"),
    [("givenName", "first_name"), ("familyName", "last_name"), ("identifier", "district_id"),
     ("Student ID", "district_id"), ("Building Code", "school_sis_id"), ("student_id", "district_id")],
)
def test_aliases_are_suggestions_not_matches(label, key):
    proposal = propose_field_mapping([label], has_header=True, spec=USER_DATA)

    assert proposal.matched == {}
    assert proposal.suggestions == {key: label}


def test_a_oneroster_export_gets_a_suggestion_for_each_alias():
    labels = ["sourcedId", "givenName", "familyName", "role", "grades", "email", "orgSourcedIds"]

    proposal = propose_field_mapping(labels, has_header=True, spec=USER_DATA)

    assert proposal.matched == {}
    assert proposal.suggestions == {
        "district_id": "sourcedId", "first_name": "givenName", "last_name": "familyName", "user_type": "role",
        "grade": "grades", "email": "email", "school_sis_id": "orgSourcedIds",
    }


def test_a_near_miss_heading_is_suggested():
    proposal = propose_field_mapping(["Frist Name"], has_header=True, spec=USER_DATA)

    assert proposal.suggestions == {"first_name": "Frist Name"}


def test_an_exact_heading_wins_over_an_alias_for_the_same_field():
    proposal = propose_field_mapping(["Student ID", "District ID"], has_header=True, spec=USER_DATA)

    assert proposal.matched == {"district_id": "District ID"}
    assert "district_id" not in proposal.suggestions


def test_a_remembered_mapping_is_matched():
    remembered = {"district_id": "Pupil Number", "school_sis_id": "Site"}

    proposal = propose_field_mapping(["Pupil Number", "Site", "First Name"], has_header=True, remembered=remembered, spec=USER_DATA)

    assert proposal.matched == {"first_name": "First Name", "district_id": "Pupil Number", "school_sis_id": "Site"}


def test_a_remembered_column_this_file_lacks_is_ignored():
    proposal = propose_field_mapping(["First Name"], has_header=True, remembered={"district_id": "Pupil Number"}, spec=USER_DATA)

    assert proposal.matched == {"first_name": "First Name"}


def test_without_a_header_only_remembered_columns_match():
    labels = ["Column 1", "Column 2"]

    assert propose_field_mapping(labels, has_header=False, spec=USER_DATA).matched == {}
    assert propose_field_mapping(labels, has_header=False, remembered={"first_name": "Column 2"}, spec=USER_DATA).matched == {
        "first_name": "Column 2"
    }


def test_fixed_values_cover_required_fields():
    mapping = {"first_name": "F", "last_name": "L", "district_id": "ID", "grade": "G", "school_sis_id": "S"}

    assert missing_required(mapping, {}, spec=USER_DATA) == ["user_type", "email"]
    assert missing_required(mapping, {"user_type": "student", "email": ""}, spec=USER_DATA) == []


def test_plan_columns_prefers_a_fixed_value_and_lists_missing_required_columns():
    plan = plan_columns(
        ["First Name", "Role"], {"first_name": "First Name", "user_type": "Role", "last_name": "Surname"},
        {"user_type": "student"},
     spec=USER_DATA)

    assert plan.indexes == {"first_name": 0}
    assert plan.fixed == {"user_type": "student"}
    assert plan.missing == ("last_name",)


SCHOOLS = [
    SchoolChoice(id=1, sis_id="101", name="Lincoln Elementary"),
    SchoolChoice(id=2, sis_id="202", name="Roosevelt Middle"),
    SchoolChoice(id=3, sis_id="Lincoln Elementary", name="Lincoln Annex"),
]


def test_school_values_match_by_sis_id_then_exact_name_ignoring_case():
    proposal = propose_school_mapping(["101", " 202 ", "roosevelt middle", "Lincoln Elem."], SCHOOLS)

    assert proposal == {"101": 1, " 202 ": 2, "roosevelt middle": 2}


def test_a_sis_id_match_wins_over_a_name_match():
    assert propose_school_mapping(["Lincoln Elementary"], SCHOOLS) == {"Lincoln Elementary": 3}


def test_a_remembered_school_is_proposed_when_it_still_exists():
    remembered = {"Lincoln Elem.": 1, "Closed School": 99}

    proposal = propose_school_mapping(["Lincoln Elem.", "Closed School"], SCHOOLS, remembered=remembered)

    assert proposal == {"Lincoln Elem.": 1}

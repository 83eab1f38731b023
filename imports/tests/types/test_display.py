"""A field's label and a stored value in words come from the type's declaration."""
from imports.types import get_spec

USER_DATA, DEMOGRAPHICS = get_spec("user_data"), get_spec("student_demographics")


def test_flags_read_yes_and_no_never_blank():
    assert USER_DATA.display("economically_disadvantaged", False) == "No"
    assert USER_DATA.display("economically_disadvantaged", True) == "Yes"
    assert USER_DATA.display("economically_disadvantaged", None) == ""


def test_coded_values_read_as_their_labels():
    assert USER_DATA.display("grade", "K") == "Kindergarten"
    assert USER_DATA.display("grade", "PK") == "Pre-K"
    assert USER_DATA.display("grade", "7") == "7"
    assert DEMOGRAPHICS.display("gender", "X") == "Non-binary"
    assert USER_DATA.display("user_type", "staff") == "Staff"
    assert DEMOGRAPHICS.display("race", "Asian;White") == "Asian, White"


def test_a_school_reads_as_its_name_and_sis_id():
    schools = {3: "Lincoln Elementary (101)"}
    assert USER_DATA.field_label("school_id") == "School"
    assert USER_DATA.display("school_id", 3, schools=schools) == "Lincoln Elementary (101)"


def test_labels_are_each_types_own_headings():
    assert USER_DATA.field_label("last_name") == "Last Name"
    assert USER_DATA.field_label("disabled") == "Disabled"
    assert DEMOGRAPHICS.field_label("disabled") == "Special Education"
    assert DEMOGRAPHICS.field_label("is_active") == "Active"  # an undo's own entry

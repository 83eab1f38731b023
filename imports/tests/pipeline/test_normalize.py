"""One cell at a time: what each spelling becomes, and the code and suggestion when it cannot be used."""
import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from imports.pipeline import normalize
from imports.pipeline.normalize import Invalid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", "student"), ("1", "staff"),
        ("student", "student"), ("Student", "student"), ("STUDENT", "student"), (" sTuDeNt ", "student"),
        ("staff", "staff"), ("Staff", "staff"), ("STAFF", "staff"),
    ],
)
def test_user_type_accepts_codes_and_words_in_any_case(text, expected):
    assert normalize.user_type(text) == expected


@pytest.mark.parametrize("text", ["2", "Teacher", "S", "students", "01", ""])
def test_user_type_rejects_anything_else(text):
    result = normalize.user_type(text)
    assert isinstance(result, Invalid)
    assert result.code == "invalid_user_type"
    assert result.suggestion


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pre-K", "PK"), ("PK", "PK"), ("PreK", "PK"), ("Pre-Kindergarten", "PK"), ("pre-k", "PK"), ("pk", "PK"),
        ("K", "K"), ("KG", "K"), ("Kindergarten", "K"), ("k", "K"), ("kindergarten", "K"),
        ("1", "1"), ("01", "1"), ("9", "9"), ("09", "9"), ("10", "10"), ("12", "12"), (" 7 ", "7"),
    ],
)
def test_grade_accepts_every_listed_spelling(text, expected):
    assert normalize.grade(text) == expected


@pytest.mark.parametrize(
    ("text", "suggestion_words"),
    [
        ("13", "up to 12"),
        ("TK", "Transitional kindergarten"),
        ("Transitional Kindergarten", "Transitional kindergarten"),
        ("0", "use K"),
        ("Grade 5", "Pre-K, K, or a number"),
        ("P", "Pre-K, K, or a number"),
    ],
)
def test_grade_rejects_with_a_suggestion(text, suggestion_words):
    result = normalize.grade(text)
    assert isinstance(result, Invalid)
    assert result.code == "invalid_grade"
    assert suggestion_words in result.suggestion


@pytest.mark.parametrize("text", ["1.0", "1.2", "12.5"])
def test_grade_with_a_decimal_point_is_not_read_as_another_grade(text):
    # "1.0" once lost its dot and became grade 10.
    result = normalize.grade(text)
    assert isinstance(result, Invalid)
    assert result.code == "invalid_grade"


def test_grade_with_a_superscript_digit_is_an_error_not_a_crash():
    result = normalize.grade("²")
    assert isinstance(result, Invalid)
    assert result.code == "invalid_grade"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Y", True), ("y", True), ("Yes", True), ("YES", True), ("1", True), ("True", True), ("TRUE", True),
        ("N", False), ("n", False), ("No", False), ("0", False), ("False", False), ("false", False), ("", False),
    ],
)
def test_flag_accepts_yes_no_spellings(text, expected):
    assert normalize.flag(text) is expected


@pytest.mark.parametrize("text", ["maybe", "X", "2", "Si"])
def test_flag_rejects_other_words(text):
    result = normalize.flag(text)
    assert isinstance(result, Invalid)
    assert result.code == "invalid_flag"


@pytest.mark.parametrize("text", ["ada@example.org", " ada.lovelace+cs@school.k12.il.us "])
def test_email_accepts_addresses(text):
    assert normalize.email(text) == text.strip()


@pytest.mark.parametrize("text", ["ada", "ada@", "ada@example", "ada lovelace@example.org", "@example.org"])
def test_email_rejects_malformed_addresses(text):
    result = normalize.email(text)
    assert isinstance(result, Invalid)
    assert result.code == "invalid_email"


@pytest.mark.parametrize("text", ["000123", "0042", "T-2001", "123456789012"])
def test_district_id_is_kept_as_text_with_leading_zeros(text):
    assert normalize.district_id(text) == text


@pytest.mark.parametrize("text", ["1.23457E+11", "1.23457e+11", "1E+05", "4.5E-3"])
def test_district_id_in_scientific_notation_is_an_error(text):
    result = normalize.district_id(text)
    assert isinstance(result, Invalid)
    assert result.code == "district_id_scientific"
    assert "Text" in result.suggestion


_PART = st.text(alphabet="aZ09._+-@\"[]:é ", min_size=0, max_size=6)
_LABEL = st.text(alphabet="aZ09-_é", min_size=0, max_size=4) | st.text(alphabet="a-", min_size=62, max_size=65)
_ADDRESSES = st.builds(
    lambda user, labels, tld: f"{user}@{'.'.join(labels + [tld])}",
    _PART, st.lists(_LABEL, min_size=1, max_size=3), st.text(alphabet="aZ0-", min_size=0, max_size=4),
)


@settings(max_examples=3000, deadline=None)
@given(_ADDRESSES | st.lists(_PART, min_size=1, max_size=4).map("".join) | st.emails().map(str))
def test_every_address_the_quick_check_accepts_is_one_djangos_validator_accepts(text):
    # The quick check may only say yes where the full validator says yes; anything else it leaves to the validator.
    try:
        EmailValidator()(text.strip())
        valid = True
    except ValidationError:
        valid = False
    assert isinstance(normalize.email(text), Invalid) is not valid

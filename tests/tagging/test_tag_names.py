import pytest
from django.core.exceptions import ValidationError

from tagging.names import clean_tag_name, clean_tag_names, split_tag_string

pytestmark = pytest.mark.no_postgres


def test_tag_names_are_trimmed_and_collapsed():
    assert clean_tag_name("  machine \t  learning ") == "machine learning"


@pytest.mark.parametrize("raw", ["", "   ", "a,b", "x" * 65, "tab\x00null"])
def test_bad_tag_names_are_rejected(raw):
    with pytest.raises(ValidationError):
        clean_tag_name(raw)


def test_64_characters_is_allowed():
    assert clean_tag_name("y" * 64) == "y" * 64


def test_case_insensitive_duplicates_keep_first_spelling():
    assert clean_tag_names(["Python", "python", "Django"]) == ["Python", "Django"]


def test_split_tag_string_ignores_empty_pieces():
    assert split_tag_string("python, ,django,") == ["python", "django"]

"""The search box syntax, parsed without a database."""
import pytest

from snapshots.search.query import parse_query, words

pytestmark = pytest.mark.no_postgres


def test_words_are_separate_terms():
    assert parse_query("django  search").terms == ["django", "search"]


def test_quoted_phrase_is_one_term():
    assert parse_query('"full text" search').terms == ["full text", "search"]


def test_unbalanced_quote_closes_at_the_end():
    assert parse_query('tag "open phrase').terms == ["tag", "open phrase"]


def test_minus_excludes_words_and_phrases():
    parsed = parse_query('python -snake -"monty python"')
    assert parsed.terms == ["python"]
    assert parsed.excluded == ["snake", "monty python"]


def test_hash_filters_by_tag_and_keeps_spaces_in_quotes():
    parsed = parse_query('#Python #"machine learning" tips')
    assert parsed.tags == ["Python", "machine learning"]
    assert parsed.terms == ["tips"]


def test_lone_operators_are_ignored():
    assert parse_query("- # -").is_empty


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_query(text):
    assert parse_query(text).is_empty


def test_fts_operators_are_plain_terms():
    parsed = parse_query("a AND b NEAR(c) title:x * or")
    assert parsed.terms == ["a", "AND", "b", "NEAR(c)", "title:x", "*", "or"]


def test_upper_case_or_joins_the_terms_next_to_it():
    assert parse_query("django OR flask tips").groups == [["django", "flask"], ["tips"]]
    assert parse_query('a OR "b c" OR d').groups == [["a", "b c", "d"]]
    assert parse_query("OR a OR").groups == [["OR"], ["a"], ["OR"]]  # an OR with no term beside it is a word


def test_words_split_urls_and_punctuation():
    assert words("https://Example.com/blog_post?id=7") == ["https", "Example", "com", "blog", "post", "id", "7"]


def test_words_keep_letters_of_any_script():
    assert words("Café-crème Ελλάδα 東京") == ["Café", "crème", "Ελλάδα", "東京"]


def test_words_of_pure_punctuation_is_empty():
    assert words("*:()\"'-") == []

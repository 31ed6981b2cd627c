"""Tag-name variants and page mentions (pure functions)."""
import pytest

from tagging.scoring.words import PageWords, is_variant, mentions, name_key, words

pytestmark = pytest.mark.no_postgres


@pytest.mark.parametrize("a,b", [
    ("Python", "python"), ("queries", "query"), ("class-based views", "Class based view"),
    ("web_sites", "web site"), ("classes", "class"), ("node.js", "node js"),
])
def test_variants_share_one_key(a, b):
    assert is_variant(a, b)


@pytest.mark.parametrize("a,b", [("java", "javascript"), ("go", "git"), ("css", "cs"), ("c++", "c"), ("c#", "c")])
def test_different_tags_stay_apart(a, b):
    assert not is_variant(a, b)


def test_words_keep_programming_tokens_whole():
    assert words("C++ and C# on .NET, not c") == ["c++", "and", "c#", "on", ".net", "not", "c"]


def test_mentions_count_where_the_page_names_a_tag():
    page = PageWords.of(title="Async queries in Django", url="https://example.org/guides/django-orm/",
                        description="About the ORM", body="Queries run async. A query is lazy. queries again.")
    found = mentions(page, "query")
    assert (found.title, found.url, found.description, found.body_count) == (True, False, False, 3)
    assert mentions(page, "orm").url and mentions(page, "orm").description
    assert mentions(page, "Django").url and not mentions(page, "flask").title
    assert name_key("Class-Based Views") == "class based view"


def test_headings_and_meta_keywords_count():
    page = PageWords.of("Notes", "https://example.org/n", "", "", headings=["Setting up Celery workers"],
                        keywords=["Task Queues", "redis"])
    assert mentions(page, "celery worker").heading and not mentions(page, "celery worker").title
    assert mentions(page, "task-queue").keyword and mentions(page, "Redis").keyword
    assert not mentions(page, "rabbitmq").keyword

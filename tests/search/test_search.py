"""Search over links on both databases: same syntax, same results."""
import pytest
from django.db import connection

from snapshots.links import queries
from snapshots.links.queries import LinkQuery, query_links
from snapshots.models import Link
from snapshots.search import matching_words, parse_query
from snapshots.search.index import ensure_search_index, rebuild_search_index
from tests.factories import make_link


def found(user, text: str) -> set[str]:
    return set(query_links(user, LinkQuery(text=text)).values_list("url", flat=True))


@pytest.fixture
def library(alice, bob):
    make_link(alice, "https://docs.djangoproject.com/en/5.2/topics/db/search/", title="Django full text search",
              tags=["python", "Databases"])
    make_link(alice, "https://www.postgresql.org/docs/current/textsearch.html", title="Postgres text search",
              description="Chapter 12 of the manual", tags=["databases"])
    make_link(alice, "https://sqlite.org/fts5.html", title="SQLite FTS5 extension",
              notes="contentless tables need the old values on delete", tags=["Databases", "sqlite"])
    make_link(alice, "https://example.com/recipes/crepes", title="Crêpes Suzette",
              description="A French café classic", tags=["cooking"])
    make_link(bob, "https://example.com/bob/django", title="Bob's Django notes", tags=["python"])


A = {
    "django": "https://docs.djangoproject.com/en/5.2/topics/db/search",
    "pg": "https://www.postgresql.org/docs/current/textsearch.html",
    "fts5": "https://sqlite.org/fts5.html",
    "crepes": "https://example.com/recipes/crepes",
}


def urls(*keys: str) -> set[str]:
    return {A[key] for key in keys}


@pytest.fixture(autouse=True)
def _normalised_urls(library, alice):
    # normalize_url may drop a trailing slash; read back what was stored.
    stored = set(Link.objects.filter(user=alice).values_list("url", flat=True))
    for key, url in list(A.items()):
        A[key] = next(s for s in stored if s.rstrip("/") == url.rstrip("/"))


def test_empty_query_returns_all_own_links(alice):
    assert found(alice, "") == urls("django", "pg", "fts5", "crepes")


def test_words_are_anded(alice):
    assert found(alice, "text search") == urls("django", "pg")
    assert found(alice, "django search") == urls("django")


def test_quoted_phrase_needs_adjacent_words_in_order(alice):
    assert found(alice, '"text search"') == urls("django", "pg")
    assert found(alice, '"search text"') == set()


def test_exclude_word(alice):
    assert found(alice, "search -postgres") == urls("django")
    assert found(alice, "-search") == urls("fts5", "crepes")


def test_exclude_phrase(alice):
    assert found(alice, '-"full text"') == urls("pg", "fts5", "crepes")


@pytest.mark.parametrize("rare_up_to", [0, 1000], ids=["popular-tags", "small-tags"])
def test_tag_filter_is_case_insensitive_and_anded(alice, monkeypatch, rare_up_to):
    monkeypatch.setattr(queries, "RARE_TAG_LINKS", rare_up_to)
    assert found(alice, "#databases") == urls("django", "pg", "fts5")
    assert found(alice, "#DATABASES #Sqlite") == urls("fts5")
    assert found(alice, "#databases search") == urls("django", "pg")
    assert found(alice, "#nosuchtag") == set()


def test_searches_description_and_notes(alice):
    assert found(alice, "manual") == urls("pg")
    assert found(alice, "contentless") == urls("fts5")


def test_searches_page_text(alice):
    link = Link.objects.get(url=A["crepes"])
    link.page_text = "Whisk the batter until smooth, rest it for an hour."
    link.save()
    assert found(alice, "batter") == urls("crepes")
    assert found(alice, '"rest it for an hour"') == urls("crepes")


def test_url_parts(alice):
    assert found(alice, "example.com") == urls("crepes")
    assert found(alice, "sqlite.org") == urls("fts5")
    assert found(alice, "recipes") == urls("crepes")
    assert found(alice, "example.com/recipes") == urls("crepes")
    assert found(alice, "textsearch.html") == urls("pg")
    assert found(alice, "https://sqlite.org/fts5.html") == urls("fts5")


def test_case_insensitive(alice):
    assert found(alice, "DJANGO") == urls("django")
    assert found(alice, "sqLite") == urls("fts5")


def test_accents_ignored_both_ways(alice):
    assert found(alice, "crepes") == urls("crepes")
    assert found(alice, "CAFE") == urls("crepes")
    assert found(alice, "crêpes café") == urls("crepes")


def test_last_word_of_a_term_is_a_prefix(alice):
    assert found(alice, "postgr") == urls("pg")
    assert found(alice, '"full te"') == urls("django")
    assert found(alice, "ful") == urls("django")


def test_other_users_links_are_never_found(alice, bob):
    assert found(alice, "bob") == set()
    assert found(bob, "django") == {"https://example.com/bob/django"}
    assert found(bob, "#databases") == set()


ALL = ("django", "pg", "fts5", "crepes")


# Each odd query has one right answer: only its words count (runs of letters and digits, the last
# of a term a prefix), so a query of punctuation alone filters nothing.
@pytest.mark.parametrize("text, expected", [
    ('"', ALL), ('""', ALL), ("*", ALL), ("**", ALL),
    ("AND", ()), ("OR", ("pg", "fts5")),  # "or" is the start of "org"
    ("NOT", ()), ("a OR b", ("crepes",)),  # either word: "A French café classic" (no word starts with b)
    ("NEAR(search text)", ()), ("title:search", ()),
    ("(", ALL), (")", ALL), ("search)", ("django", "pg")), ("-", ALL), ("--", ALL), ("-*", ALL), ("#", ALL),
    ("'", ALL), ("'; DROP TABLE snapshots_link; --", ()), ("\\", ALL), ("%", ALL), ("_", ALL), ("^", ALL),
    (":", ALL), ("a:*", ("crepes",)),  # "A French café classic"
    ("!", ALL), ("&|!<->", ALL), ("search & !text", ("django", "pg")), ("😀", ALL), ("東京", ()),
    ("x" * 3000, ()), ("NULL", ()), ("\x00", ALL),
    ("e\u0301", ("django", "fts5", "crepes")),  # the word "e": en, extension, example
    ("½", ()), ("ﬁ", ()), ("search*", ("django", "pg")), ('"search" "text', ("django", "pg")),
    ("-search -text -crepes -fts5", ()),
])
def test_special_characters_are_literal_text(alice, text, expected):
    assert found(alice, text) == urls(*expected)


def test_syntax_words_are_literal(alice):
    Link.objects.filter(url=A["fts5"]).update(notes="Use AND OR NOT NEAR freely")
    assert found(alice, "NEAR") == urls("fts5")
    assert found(alice, "and not") == urls("fts5")


def test_punctuation_only_query_filters_nothing(alice):
    assert found(alice, "***") == urls("django", "pg", "fts5", "crepes")


def test_updates_are_reflected(alice):
    link = Link.objects.get(url=A["pg"])
    link.title = "Tsvector reference"
    link.description = ""
    link.save()
    assert found(alice, "tsvector") == urls("pg")
    assert found(alice, "manual") == set()


def test_queryset_updates_are_reflected(alice):
    Link.objects.filter(url=A["crepes"]).update(title="Galettes")
    assert found(alice, "galettes") == urls("crepes")
    assert found(alice, "suzette") == set()


def test_flag_changes_keep_the_index(alice):
    Link.objects.filter(user=alice).update(unread=True)
    assert found(alice, "suzette") == urls("crepes")


def test_deleted_links_disappear(alice):
    Link.objects.get(url=A["fts5"]).delete()
    assert found(alice, "contentless") == set()
    assert found(alice, "databases") == set()


def test_bulk_created_links_are_indexed(alice):
    Link.objects.bulk_create([Link(user=alice, url=f"https://bulk.test/{i}", title=f"Bulk item{i}") for i in range(3)])
    assert found(alice, "bulk item1") == {"https://bulk.test/1"}


def test_only_the_beginning_of_huge_pages_is_indexed(alice):
    link = Link.objects.get(url=A["crepes"])
    link.page_text = "start " + "filler " * 20_000 + "farawayword"
    link.save()
    assert found(alice, "start") == urls("crepes")
    assert found(alice, "farawayword") == set()


def test_rebuild_and_ensure_keep_results(alice):
    rebuild_search_index(connection)
    ensure_search_index(connection)
    assert found(alice, "text search") == urls("django", "pg")


def test_results_compose_with_other_filters_and_ordering(alice):
    results = query_links(alice, LinkQuery(text="search"))
    assert [link.url for link in results] == [A["pg"], A["django"]]
    assert results.count() == 2


def test_tag_names_with_regex_characters_are_literal(alice):
    make_link(alice, "https://example.org/cpp", title="C++", tags=["c++ (lang)"])
    assert found(alice, '#"C++ (lang)"') == {"https://example.org/cpp"}
    assert found(alice, "#c+") == set()
    assert found(alice, "#.*") == set()


def test_non_ascii_tag_any_case(alice):
    make_link(alice, "https://example.org/paris", title="Paris", tags=["Été"])
    assert found(alice, "#Été") == {"https://example.org/paris"}
    assert found(alice, "#ÉTÉ paris") == {"https://example.org/paris"}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="table rebuilds that drop triggers happen on SQLite only")
def test_lost_sqlite_triggers_are_restored_and_the_index_rebuilt(alice):
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER link_search_update")
        cursor.execute("DROP TRIGGER link_search_insert")
    make_link(alice, "https://example.net/missed", title="Indexed while triggers were gone")
    assert found(alice, "gone") == set()
    ensure_search_index(connection)
    assert found(alice, "gone") == {"https://example.net/missed"}
    Link.objects.filter(url=A["pg"]).update(title="Renamed afterwards")
    assert found(alice, "renamed") == urls("pg")


def test_search_plan_reads_the_full_text_index(alice):
    if connection.vendor == "sqlite":
        query = query_links(alice, LinkQuery(text="text search"))[:51]
        assert "link_search VIRTUAL TABLE INDEX" in query.explain()
    else:
        # A tiny table is read sequentially; with that ruled out the GIN index must serve the match.
        # Only bitmap scans left: one needs an index condition, which only the GIN index offers.
        query = matching_words(Link.objects.all(), parse_query("text search"))
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off")
            try:
                plan = query.explain()
            finally:
                cursor.execute("RESET enable_seqscan; RESET enable_indexscan")
        assert "link_search_document_gin" in plan


def test_or_matches_either_term(alice):
    assert found(alice, "postgres OR sqlite") == urls("pg", "fts5")
    assert found(alice, "search postgres OR django") == urls("django", "pg")
    assert found(alice, '"full text" OR crêpes') == urls("django", "crepes")


@pytest.fixture
def languages(alice):
    make_link(alice, "https://example.com/cpp", title="Modern C++ in practice")
    make_link(alice, "https://example.com/cs", title="C# records and pattern matching")
    make_link(alice, "https://example.com/net", title="Migrating to .NET 8")
    make_link(alice, "https://example.com/c", title="The C programming language")
    make_link(alice, "https://example.net/site", title="A site under example.net")


def test_names_made_of_punctuation_are_words(alice, languages):
    assert found(alice, "C++") == {"https://example.com/cpp"}
    assert found(alice, "c#") == {"https://example.com/cs"}
    assert found(alice, ".NET") == {"https://example.com/net"}
    assert "https://example.com/cpp" not in found(alice, "programming C")
    assert found(alice, '"example.net"') == {"https://example.net/site"}


def test_rebuilt_index_keeps_the_special_names(alice, languages):
    rebuild_search_index(connection)
    assert found(alice, "C++") == {"https://example.com/cpp"}

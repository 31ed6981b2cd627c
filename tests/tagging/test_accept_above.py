"""suggestions.accept_above: the review page's bulk accept, applied in one insert and one update."""
import pytest
from django.core.exceptions import ValidationError

from tagging.models import Tag, TagSuggestion
from tagging.suggestions import service as suggestions
from tests.factories import make_link, make_suggestion

pytestmark = pytest.mark.django_db


def test_one_new_tag_per_proposed_name_in_any_case(alice):
    one, two = make_link(alice, "https://example.com/1"), make_link(alice, "https://example.com/2")
    make_suggestion(one, "Asyncio", 0.9, existing=False)
    make_suggestion(two, "asyncio", 0.8, existing=False)
    assert suggestions.accept_above(alice, 0.5) == 2
    tag = Tag.objects.get(user=alice, name__iexact="asyncio")
    assert list(one.tags.all()) == [tag] and list(two.tags.all()) == [tag]
    assert set(TagSuggestion.objects.values_list("tag_id", "name", "state")) == {(tag.pk, tag.name, "accepted")}


def test_a_tag_the_link_already_has_is_kept_once(alice):
    link = make_link(alice, "https://example.com/1", tags=["python"])
    suggestion = make_suggestion(link, "python", 0.9)
    assert suggestions.accept_above(alice, 0.9) == 1
    assert list(link.tags.values_list("name", flat=True)) == ["python"]
    suggestion.refresh_from_db()
    assert suggestion.state == "accepted"


def test_only_the_persons_pending_suggestions_at_or_above_the_score(alice, bob):
    mine = make_link(alice, "https://example.com/1")
    theirs = make_link(bob, "https://example.com/1")
    make_suggestion(mine, "low", 0.49)
    make_suggestion(mine, "edge", 0.5)
    make_suggestion(mine, "said-no", 0.99, state="rejected")
    make_suggestion(theirs, "edge", 0.9)
    assert suggestions.accept_above(alice, 0.5) == 1
    assert list(mine.tags.values_list("name", flat=True)) == ["edge"]
    assert not theirs.tags.exists()
    assert TagSuggestion.objects.get(link=mine, name="said-no").state == "rejected"


def test_tag_filter_and_range_check(alice):
    link = make_link(alice, "https://example.com/1")
    make_suggestion(link, "python", 0.9)
    make_suggestion(link, "django", 0.9)
    assert suggestions.accept_above(alice, 0, tag="PYTHON") == 1
    assert list(link.tags.values_list("name", flat=True)) == ["python"]
    with pytest.raises(ValidationError):
        suggestions.accept_above(alice, -0.1)

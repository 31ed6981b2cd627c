import pytest
from django.core.exceptions import ValidationError

from tagging.models import Tag
from tagging.services import create_tag, delete_tag, get_or_create_tags, merge_tags, rename_tag
from tests.factories import make_link

pytestmark = pytest.mark.django_db


def test_get_or_create_is_case_insensitive(alice):
    first = get_or_create_tags(alice, ["Python"])
    again = get_or_create_tags(alice, ["PYTHON", "django"])
    assert again[0].pk == first[0].pk
    assert sorted(Tag.objects.filter(user=alice).values_list("name", flat=True), key=str.lower) == ["django", "Python"]


def test_users_have_separate_vocabularies(alice, bob):
    [a] = get_or_create_tags(alice, ["python"])
    [b] = get_or_create_tags(bob, ["python"])
    assert a.pk != b.pk


def test_create_tag_refuses_duplicate_spelling(alice):
    create_tag(alice, "Rust")
    with pytest.raises(ValidationError):
        create_tag(alice, "rust")


def test_rename_refuses_clash_and_keeps_name(alice):
    create_tag(alice, "go")
    tag = create_tag(alice, "golang")
    with pytest.raises(ValidationError):
        rename_tag(tag, "GO")
    tag.refresh_from_db()
    assert tag.name == "golang"


def test_rename_changes_case(alice):
    tag = create_tag(alice, "python")
    assert rename_tag(tag, "Python").name == "Python"


def test_merge_moves_links_without_losing_any(alice):
    one = make_link(alice, "https://a.example/", tags=["js"])
    both = make_link(alice, "https://b.example/", tags=["js", "javascript"])
    source = Tag.objects.get(user=alice, name="js")
    target = Tag.objects.get(user=alice, name="javascript")
    merge_tags(source, target)
    assert not Tag.objects.filter(pk=source.pk).exists()
    assert set(target.links.values_list("pk", flat=True)) == {one.pk, both.pk}


def test_merge_across_users_is_refused(alice, bob):
    [a] = get_or_create_tags(alice, ["x"])
    [b] = get_or_create_tags(bob, ["y"])
    with pytest.raises(ValidationError):
        merge_tags(a, b)
    assert Tag.objects.filter(pk=a.pk).exists()


def test_delete_tag_keeps_links(alice):
    link = make_link(alice, "https://a.example/", tags=["gone"])
    delete_tag(Tag.objects.get(name="gone"))
    link.refresh_from_db()
    assert link.tags.count() == 0

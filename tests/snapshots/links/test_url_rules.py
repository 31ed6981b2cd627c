import pytest
from django.core.exceptions import ValidationError

from snapshots.links.url_rules import MAX_URL_LENGTH, normalize_url

pytestmark = pytest.mark.no_postgres


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM/Path", "http://example.com/Path"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com/a#section", "https://example.com/a"),
        ("https://example.com/a?utm_source=x&id=3&UTM_Medium=y&fbclid=z", "https://example.com/a?id=3"),
        ("https://example.com/?gclid=1", "https://example.com/"),
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://example.com/a%20b", "https://example.com/a%20b"),
        ("https://[::1]:8000/x", "https://[::1]:8000/x"),
    ],
)
def test_normalize_url(raw, expected):
    assert normalize_url(raw) == expected


def test_equivalent_spellings_normalize_to_one_url():
    spellings = ["HTTPS://EXAMPLE.com:443/doc?utm_campaign=a#top", "https://example.com/doc"]
    assert len({normalize_url(s) for s in spellings}) == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("example.com", "http:// or https://"),
        ("javascript:alert(1)", "javascript"),
        ("file:///etc/passwd", "file"),
        ("data:text/html,hi", "data"),
        ("https://exa mple.com/", "spaces"),
        ("https://example.com/" + "a" * MAX_URL_LENGTH, "2048"),
        ("", "Enter a URL"),
        ("https://user:pw@example.com/", "password"),
        ("https://example.com:99999/", "port"),
        ("http:///path-only", "host"),
    ],
)
def test_invalid_urls_are_rejected_with_a_reason(raw, message):
    with pytest.raises(ValidationError) as err:
        normalize_url(raw)
    assert message in " ".join(err.value.messages)

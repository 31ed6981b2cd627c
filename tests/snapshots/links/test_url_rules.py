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
        # Tracking parameters from courlan's list, and the order of the others.
        ("https://example.com/a?ref=hn", "https://example.com/a"),
        ("https://example.com/a?ref_src=twsrc&b=2", "https://example.com/a?b=2"),
        ("https://example.com/a?mc_cid=1&mc_eid=2&gclid=3&igshid=4", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?t=1&t=0", "https://example.com/a?t=1&t=0"),
        ("https://example.com/a?reference=7&refresh=1", "https://example.com/a?reference=7&refresh=1"),
        ("https://example.com/a?flag", "https://example.com/a?flag="),
        # No scheme typed: https is assumed.
        ("example.com", "https://example.com/"),
        ("Example.com/page?b=1", "https://example.com/page?b=1"),
        ("localhost:8000/x", "https://localhost:8000/x"),
        ("//example.com/x", "https://example.com/x"),
    ],
)
def test_normalize_url(raw, expected):
    assert normalize_url(raw) == expected


def test_equivalent_spellings_normalize_to_one_url():
    spellings = ["HTTPS://EXAMPLE.com:443/doc?utm_campaign=a#top", "https://example.com/doc",
                 "example.com/doc?ref=hn", "https://example.com/doc?fbclid=x&utm_source=y"]
    assert len({normalize_url(s) for s in spellings}) == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not-a-url", "http:// or https://"),
        ("not a url", "is not a web address"),
        ("mailto:a@example.com", "mailto"),
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

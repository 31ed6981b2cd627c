"""Links to addresses captures may not reach are refused when submitted, with a clear message."""
import pytest
from django.core.exceptions import ValidationError

from snapshots.links.services import save_link, update_link
from snapshots.models import Link
from tests.factories import make_link

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://localhost:8000/admin/", "http://0x7f000001/", "http://2130706433/",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
])
def test_private_and_metadata_addresses_are_refused(alice, url):
    with pytest.raises(ValidationError) as err:
        save_link(alice, url, tag_names=["x"])
    assert "cannot be captured" in err.value.message_dict["url"][0]
    assert not Link.objects.exists()


def test_allowed_private_hosts_can_be_saved(alice, settings):
    settings.LINKSHOT_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    assert save_link(alice, "http://127.0.0.1:8080/wiki").created


def test_unresolvable_host_is_saved_for_later(alice):
    assert save_link(alice, "https://not-resolvable.example/").created


def test_editing_to_a_private_address_changes_nothing(alice):
    link = make_link(alice, "https://public.example/", title="Kept")
    with pytest.raises(ValidationError):
        update_link(link, url="http://192.168.1.1/", title="Changed")
    link.refresh_from_db()
    assert (link.url, link.title) == ("https://public.example/", "Kept")


def test_web_form_shows_the_refusal(alice_client):
    response = alice_client.post("/add/", {"url": "http://127.0.0.1:6379/", "tags": "x"})
    assert response.status_code == 200
    assert "cannot be captured" in response.content.decode()
    assert not Link.objects.exists()


def test_api_names_the_url_field(alice, client):
    client.force_login(alice)
    response = client.post("/api/links/", {"url": "http://169.254.169.254/"}, content_type="application/json")
    assert response.status_code == 400
    assert "cannot be captured" in str(response.json()["url"])

"""linkding's own Python client (aiolinkding, used by Home Assistant) against a live Linkshot server."""
import asyncio

import pytest
from aiohttp import ClientSession
from aiolinkding import async_get_client
from aiolinkding.errors import InvalidTokenError
from rest_framework.authtoken.models import Token

from snapshots.models import Link
from tests.factories import make_user


def run(coroutine):
    return asyncio.run(coroutine)


async def session_calls(url: str, token: str) -> dict:
    async with ClientSession() as session:
        client = await async_get_client(url, token, session=session)  # checks /health's version
        created = await client.bookmarks.async_create("https://example.com/client", title="From the client",
                                                      tag_names=["ha", "cli"], unread=True)
        listed = await client.bookmarks.async_get_all(query="client", limit=10)
        single = await client.bookmarks.async_get_single(created["id"])
        updated = await client.bookmarks.async_update(created["id"], title="Renamed")
        await client.bookmarks.async_archive(created["id"])
        archived = await client.bookmarks.async_get_archived()
        await client.bookmarks.async_unarchive(created["id"])
        tags = await client.tags.async_get_all()
        profile = await client.user.async_get_profile()
        await client.bookmarks.async_delete(created["id"])
        return {"created": created, "listed": listed, "single": single, "updated": updated,
                "archived": archived, "tags": tags, "profile": profile}


@pytest.mark.django_db(transaction=True)
def test_aiolinkding_round_trip(live_server):
    user = make_user("carol")
    token = Token.objects.create(user=user).key
    got = run(session_calls(live_server.url, token))
    assert sorted(got["created"]["tag_names"]) == ["cli", "ha"] and got["created"]["unread"] is True
    assert [b["id"] for b in got["listed"]["results"]] == [got["created"]["id"]]
    assert got["single"]["title"] == "From the client" and got["updated"]["title"] == "Renamed"
    assert [b["id"] for b in got["archived"]["results"]] == [got["created"]["id"]]
    assert sorted(t["name"] for t in got["tags"]["results"]) == ["cli", "ha"]
    assert got["profile"]["theme"] == "auto"
    assert not Link.objects.filter(user=user).exists()


async def with_bad_token(url: str) -> None:
    async with ClientSession() as session:
        client = await async_get_client(url, "not-a-token", session=session)
        await client.bookmarks.async_get_all()


@pytest.mark.django_db(transaction=True)
def test_aiolinkding_sees_a_bad_token(live_server):
    with pytest.raises(InvalidTokenError):
        run(with_bad_token(live_server.url))

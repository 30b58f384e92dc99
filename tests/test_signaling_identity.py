"""Each participant as the server knows them: the Jupyter extension stamps every peer
record with the socket's Jupyter user (here chosen per client by a cookie, through
``support.identity.NamedPeople``), a client cannot claim somebody else, and where no
identity exists the client's name is only an unverified label."""

from __future__ import annotations

from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

from support.identity import named_people_server
from support.polling import eventually
from support.signaling_fixtures import Connect


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {"reconnect_grace_seconds": 3.0, "max_sockets_per_user": 3}


@pytest.fixture
def jp_server_config(nbc_settings: dict[str, Any]) -> dict[str, Any]:
    return named_people_server(nbc_settings)


async def test_every_record_carries_the_jupyter_user(as_browser: Any) -> None:
    ada = await as_browser("ada")
    grace = await as_browser("grace")
    await ada.join("lab", "whatever ada's page says", widget="w1", color="#000000")
    welcome = await grace.join("lab", "g")
    (record,) = welcome["peers"]
    assert record["id"] == ada.id
    assert record["name"] == "Ada Lovelace"
    assert record["user"] == {
        "username": "ada",
        "display_name": "Ada Lovelace",
        "initials": "AL",
        "avatar_url": None,
        "color": "#c2185b",
    }
    assert record["color"] == "#c2185b"  # the server's colour wins over the page's
    assert record["widget"] == "w1"
    joined = (await ada.expect("peer-joined"))["peer"]
    assert joined["user"]["username"] == "grace" and joined["name"] == "Grace Hopper"
    assert "widget" not in joined


async def test_a_client_cannot_claim_another_user(as_browser: Any) -> None:
    grace = await as_browser("grace")
    await grace.join("lab", "g")
    mallory = await as_browser("alan")
    claim = {
        "username": "grace",
        "display_name": "Grace Hopper",
        "initials": "GH",
        "color": "#1565c0",
    }
    await mallory.send(
        {"type": "join", "room": "lab", "name": "Grace Hopper", "user": claim, **claim}
    )
    await mallory.expect("welcome")
    joined = (await grace.expect("peer-joined"))["peer"]
    assert joined["user"]["username"] == "alan" and joined["name"] == "Alan Turing"


async def test_without_an_identity_the_name_is_an_unverified_label(
    as_browser: Any, jupyter_connect: Connect, standalone_connect: Connect
) -> None:
    # Jupyter's own anonymous user (a browser whose login names nobody in particular)
    # is still a user: stamped, with the colour the page gives, since it has none.
    anonymous = await as_browser(None)
    await anonymous.join("lab", "label", color="var(--jp-collaborator-color3)")
    # A script with the server's token and no login cookie names nobody.
    script = await jupyter_connect()
    welcome = await script.join("lab", "kernel")
    (record,) = welcome["peers"]
    assert record["user"]["display_name"].startswith("Anonymous ")
    assert record["name"] == record["user"]["display_name"]
    assert record["color"] == "var(--jp-collaborator-color3)"
    joined = (await anonymous.expect("peer-joined"))["peer"]
    assert joined["user"] is None and joined["name"] == "kernel"
    # nbconference serve authenticates by token only: everyone is a label.
    ada, bob = await standalone_connect(), await standalone_connect()
    await ada.join("lab", "Ada")
    (record,) = (await bob.join("lab", "Bob"))["peers"]
    assert record["user"] is None and record["name"] == "Ada"


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        ("\u202eAda\u200b  \x07Love\u2066lace\t", "Ada Lovelace"),
        ("\uff21\uff44\uff41", "Ada"),  # fullwidth letters, as NFKC reads them
        ("\u200b\u202e \x00\u3164", "guest"),  # nothing visible: the default name
        ("", "guest"),
    ],
)
async def test_names_are_normalised_by_the_server(connect: Connect, label: str, shown: str) -> None:
    """Control, zero-width and bidi characters never reach another page in a name, and
    a name with nothing visible left is the default name (docs/protocol.md, "Names")."""
    ada, bob = await connect(), await connect()
    await ada.send({"type": "join", "room": "lab", "name": label})
    welcome = await ada.expect("welcome")
    assert welcome["peer"]["name"] == shown
    (record,) = (await bob.join("lab", "Bob"))["peers"]
    assert record["name"] == shown


async def test_a_label_cannot_pass_for_a_verified_person(
    as_browser: Any, jupyter_connect: Connect
) -> None:
    """A socket with only the token (no identity) that takes the name and colour of a
    verified member of the room gets the name marked unverified and no colour."""
    ada = await as_browser("ada")
    await ada.join("lab", "Ada", color="#000000")
    anonymous = await as_browser(None)
    welcome = await anonymous.join("lab", "label", color="#ff0000")
    thebe = welcome["peer"]["name"]
    assert thebe.startswith("Anonymous ")
    await ada.expect("peer-joined")
    # The same name and colour, spelt otherwise: other case, "#f00", a zero-width space.
    forger = await jupyter_connect()
    await forger.send(
        {"type": "join", "room": "lab", "name": thebe.upper() + "\u200b", "color": "#F00"}
    )
    record = (await forger.expect("welcome"))["peer"]
    assert record["user"] is None
    assert record["name"] == thebe.upper() + " (unverified)" and record["color"] is None
    seen = (await ada.expect("peer-joined"))["peer"]
    assert seen["name"] == record["name"] and seen["color"] is None
    # A username counts as a name too; a different name and colour are left alone.
    kernel = await jupyter_connect()
    assert (await kernel.join("lab", "ADA"))["peer"]["name"] == "ADA (unverified)"
    other = await jupyter_connect()
    record = (await other.join("lab", "Ada's kernel", color="#00ff00"))["peer"]
    assert record["name"] == "Ada's kernel" and record["color"] == "#00ff00"
    # The chat names the sender as its record does.
    await forger.send({"type": "chat", "text": "hi"})
    await ada.expect("peer-joined")
    await ada.expect("peer-joined")
    chat = await ada.expect("chat", text="hi")
    assert chat["name"] == thebe.upper() + " (unverified)" and chat["user"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("widget", "has space"), ("widget", "x" * 65), ("color", "red; x: url(evil)"), ("color", 3)],
)
async def test_bad_widget_tags_and_colours_are_refused(
    connect: Connect, field: str, value: object
) -> None:
    client = await connect()
    await client.send({"type": "join", "room": "lab", field: value})
    error = await client.expect_error("bad-message")
    assert f"'{field}'" in error["message"]


async def test_sockets_are_capped_per_user_whatever_the_address(
    as_browser: Any, jupyter_connect: Connect, nbc_settings: dict[str, Any]
) -> None:
    """Behind JupyterHub's proxy every socket comes from one address, so the extension
    counts sockets per user (``max_sockets_per_user``)."""
    cap = nbc_settings["max_sockets_per_user"]
    ada = [await as_browser("ada") for _ in range(cap)]
    with pytest.raises(HTTPClientError) as refused:
        await as_browser("ada")
    assert refused.value.code == 429 and "signaling sockets" in str(refused.value)
    grace = await as_browser("grace")  # another user, from the same address
    await grace.join("lab")
    # Sockets that show only the token name nobody: they share one count.
    scripts = [await jupyter_connect() for _ in range(cap)]
    with pytest.raises(HTTPClientError, match="429"):
        await jupyter_connect()
    ada[0].close()
    scripts[0].close()

    async def reopened() -> bool:
        try:
            await as_browser("ada")
            await jupyter_connect()
        except HTTPClientError:
            return False
        return True

    await eventually(reopened, 5, "a socket once another of the same user closed")

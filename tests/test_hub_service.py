"""The Hub service's own parts that need no Hub: recognising the environment JupyterHub
gives a service, the stable cookie secret, the identity stamp of a Hub user, the owner
tags of users' rooms, and what ``nbconference serve`` refuses there. The service itself,
with a real JupyterHub, is tested in tests/browser/test_browser_hub.py."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from nbconference.__main__ import main
from nbconference.protocol import owner_tag, room_owner_tag, valid_room
from nbconference.server.hub import (
    HubMisconfigured,
    HubService,
    HubUser,
    granted_owners,
    hub_stamp,
    read_or_make_secret,
)

SERVICE_ENVIRONMENT = {
    "JUPYTERHUB_SERVICE_NAME": "nbconference",
    "JUPYTERHUB_API_TOKEN": "service-token",
    "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
    "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:9876",
}


def test_the_hub_is_recognised_from_a_services_environment(tmp_path: Path) -> None:
    assert HubService.from_environ({}) is None
    partial = {k: v for k, v in SERVICE_ENVIRONMENT.items() if k != "JUPYTERHUB_API_TOKEN"}
    assert HubService.from_environ(partial) is None
    service = HubService.from_environ(SERVICE_ENVIRONMENT, tmp_path / "secret")
    assert service is not None
    assert (service.name, service.prefix) == ("nbconference", "/services/nbconference/")
    assert (service.host, service.port) == ("127.0.0.1", 9876)
    assert service.api_url == SERVICE_ENVIRONMENT["JUPYTERHUB_API_URL"]
    assert "service-token" not in repr(service)
    prefixed = {**SERVICE_ENVIRONMENT, "JUPYTERHUB_SERVICE_PREFIX": "/base/services/nbc"}
    assert HubService.from_environ(prefixed).prefix == "/base/services/nbc/"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("url", "said"),
    [("", 'give the service a "url"'), ("https://127.0.0.1:9876", "must be http://")],
)
def test_a_service_without_a_usable_address_is_told_what_to_set(url: str, said: str) -> None:
    with pytest.raises(HubMisconfigured, match=said):
        HubService.from_environ({**SERVICE_ENVIRONMENT, "JUPYTERHUB_SERVICE_URL": url})


def test_the_cookie_secret_is_made_once_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "cookie_secret"
    first = read_or_make_secret(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_or_make_secret(path) == first, "a restart keeps everyone signed in"
    path.write_text("abcd\n")
    with pytest.raises(ValueError, match="fewer than 16 bytes"):
        read_or_make_secret(path)


def test_a_hub_user_is_stamped_with_name_and_groups_and_a_service_is_nobody() -> None:
    stamp = hub_stamp({"kind": "user", "name": "ada", "groups": ["teachers", "admins"]})
    assert stamp is not None
    assert (stamp["username"], stamp["display_name"]) == ("ada", "ada")
    assert stamp["groups"] == ["admins", "teachers"]
    assert "groups" not in (hub_stamp({"name": "bob", "groups": []}) or {})
    assert hub_stamp({"kind": "service", "name": "announcements"}) is None


def test_a_hub_users_access_to_servers_is_kept_apart_from_their_stamp() -> None:
    model = {
        "kind": "user",
        "name": "tess",
        "groups": [],
        "scopes": [
            "access:servers!user=tess",
            "access:servers!user=ada",
            "access:services!service=nbconference",
            "read:users:name!user=tess",
            "access:serversx",
        ],
    }
    user = HubUser.from_model(model)
    assert user is not None
    assert user.grants == {"access:servers!user=tess", "access:servers!user=ada"}
    assert "scopes" not in user.stamp and "access:servers!user=ada" not in str(user.stamp)
    assert HubUser.from_model({"name": "bob"}) == HubUser(hub_stamp({"name": "bob"}) or {})
    assert (
        HubUser.from_model({"kind": "service", "name": "x", "scopes": ["access:servers"]}) is None
    )


def test_access_to_servers_names_owners_by_user_server_or_group_or_everyone() -> None:
    grants = {
        "access:servers!user=tess",
        "access:servers!server=ada/",
        "access:servers!server=Ada.L/lab",
        "access:servers!group=pupils",
        "access:servers!server=/nobody",
    }
    every, tags, groups = granted_owners(frozenset(grants))
    assert not every
    assert tags == {owner_tag("tess"), owner_tag("ada"), owner_tag("Ada.L")}
    assert groups == {"pupils"}
    assert granted_owners(frozenset({"access:servers"}))[0]
    assert granted_owners(frozenset()) == (False, frozenset(), frozenset())


def test_owner_tags_name_one_user_each_and_make_valid_room_names() -> None:
    names = ["ada", "a_40", "a@", "Ada.Lovelace", "ünï", "ā1", "x" * 40, "x" * 41]
    tags = [owner_tag(name) for name in names]
    assert len(set(tags)) == len(names), dict(zip(names, tags, strict=True))
    for tag in tags:
        assert valid_room(f"{tag}~notebook-0123456789ab"), tag
        assert len(tag) <= 24
    assert owner_tag("ada") == "ada"
    assert room_owner_tag("ada~call-1f2e") == "ada"
    assert room_owner_tag("lab") is None
    assert room_owner_tag("~lab") is None


def test_serve_as_a_hub_service_takes_no_token_nor_address(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in SERVICE_ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    secret = str(tmp_path / "secret")
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--cookie-secret-file", secret, "--port", "1234", "--token", "x" * 20])
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert "--port, --token: not for a JupyterHub service" in said
    assert "JUPYTERHUB_SERVICE_URL" in said

"""Only a process every participant trusts holds the secrets others' calls depend on: the
Jupyter extension refuses the TURN secret in a JupyterHub user's server or with Redis,
and Janus' with Redis; a single server of one's own may hold them. (And what the
extension logs, a refusal included, goes through the Jupyter server's log.)"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from nbconference.server.app import (
    REDIS_UNDER_HUB,
    NBConference,
    SharedSecretRefused,
    refuse_shared_secrets,
    warn_redis_under_hub,
)
from nbconference.server.config import SignalingSettings

TURN = {"turn_urls": ["turn:127.0.0.1:3478"], "turn_secret": "s3cret"}
HUB_USER = {"JUPYTERHUB_USER": "ada", "JUPYTERHUB_API_TOKEN": "t"}


def settings(**traits: Any) -> SignalingSettings:
    return SignalingSettings(**traits)


@pytest.mark.parametrize(
    ("traits", "environ", "where"),
    [
        (TURN, HUB_USER, "a JupyterHub user's server"),
        ({**TURN, "backend": "redis"}, {}, "with backend = 'redis'"),
    ],
)
def test_the_turn_secret_is_refused_where_its_user_could_read_it(
    traits: dict[str, Any], environ: dict[str, str], where: str
) -> None:
    with pytest.raises(SharedSecretRefused) as refused:
        refuse_shared_secrets(settings(**traits), environ)
    message = str(refused.value)
    assert where in message and "make TURN credentials" in message
    assert "`nbconference serve --turn-urls URL --turn-secret @FILE`" in message
    assert "docs/deployment.md" in message
    assert "s3cret" not in message


def test_a_server_of_ones_own_may_hold_the_secrets() -> None:
    refuse_shared_secrets(settings(**TURN), {})
    refuse_shared_secrets(settings(sfu="janus"), {})
    # Under a Hub without a TURN secret: nothing to refuse (static ice_servers are public).
    refuse_shared_secrets(settings(ice_servers=[{"urls": "stun:127.0.0.1:3478"}]), HUB_USER)


@pytest.fixture
def nbc_settings(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    # The environment JupyterHub's spawner gives a user's server.
    for key, value in HUB_USER.items():
        monkeypatch.setenv(key, value)
    return dict(TURN)


async def test_a_hub_users_server_does_not_start_the_extension_with_the_turn_secret(
    jp_serverapp: Any,
) -> None:
    (extension,) = [
        app
        for apps in jp_serverapp.extension_manager.extension_apps.values()
        for app in apps
        if isinstance(app, NBConference)
    ]
    await jp_serverapp.extension_manager.start_all_extensions()
    assert extension.registry is None
    assert "refusing turn_secret inside a JupyterHub user's server" in extension.refused


async def test_what_the_extension_logs_goes_through_the_servers_log(
    jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The supervisor's and the plane's lines carry the Jupyter log's time, level and
    name, as every other line of the server does (they were bare lines on stderr)."""
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    # A Jupyter server's log as a real one is: a handler of its own, no propagation.
    monkeypatch.setattr(jp_serverapp.log, "handlers", [Keep()])
    monkeypatch.setattr(jp_serverapp.log, "propagate", False)
    (extension,) = [
        app
        for apps in jp_serverapp.extension_manager.extension_apps.values()
        for app in apps
        if isinstance(app, NBConference)
    ]
    extension._log_through_jupyter()
    try:
        logging.getLogger("nbconference.janus").warning("Janus will not start")
    finally:
        monkeypatch.undo()
        extension._log_through_jupyter()
    assert seen == ["Janus will not start"]


def test_a_hub_users_server_on_redis_is_warned_about_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sharing rooms through Redis from users' servers trusts every user of the Hub: the
    extension says so once, and names the service deployment; without a Hub, or on the
    memory backend, it says nothing."""
    monkeypatch.setattr("nbconference.server.app._warned_about_redis", False)
    log = logging.getLogger("nbconference.tests.redis-under-hub")
    said: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(record.getMessage())

    log.addHandler(Keep())
    redis = settings(backend="redis")
    assert not warn_redis_under_hub(redis, log, {})
    assert not warn_redis_under_hub(settings(), log, HUB_USER)
    assert warn_redis_under_hub(redis, log, HUB_USER)
    assert not warn_redis_under_hub(redis, log, HUB_USER)
    assert said == [REDIS_UNDER_HUB]
    assert "nbconference serve as the Hub's service" in said[0]
    assert "docs/deployment.md" in said[0]

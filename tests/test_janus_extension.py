"""``c.NBConference.sfu = "janus"``: the Jupyter extension starts its own supervised Janus
and stops it with the server."""

from __future__ import annotations

from typing import Any

import pytest

from nbconference.server.app import NBConference, SharedSecretRefused, refuse_shared_secrets
from nbconference.server.janus import JanusClient
from support.janus import loopback_config, needs_janus
from support.polling import eventually
from support.processes import process_alive

pytestmark = needs_janus


@pytest.fixture
def nbc_settings() -> dict[str, Any]:
    return {"sfu": "janus", "janus_rtp_port_range": loopback_config().rtp_port_range}


async def test_the_extension_starts_its_own_janus_and_stops_it(jp_serverapp: Any) -> None:
    (extension,) = [
        app
        for apps in jp_serverapp.extension_manager.extension_apps.values()
        for app in apps
        if isinstance(app, NBConference)
    ]
    # What the Jupyter server does once its loop runs.
    await jp_serverapp.extension_manager.start_all_extensions()
    janus = extension.janus
    assert janus is not None
    pid = janus.pid
    assert pid is not None
    client = await JanusClient.connect(janus.url, janus.config.api_secret)
    try:
        assert (await client.info())["janus"] == "server_info"
    finally:
        await client.close()
    await extension.stop_extension()
    await eventually(lambda: not process_alive(pid), 10, f"janus (pid {pid}) stopped")


@pytest.mark.parametrize(
    "nbc_settings",
    [{"backend": "redis", "sfu": "janus", "redis_url": "redis://127.0.0.1:1/0"}],
)
async def test_a_single_user_server_refuses_redis_with_an_sfu(jp_serverapp: Any) -> None:
    """With Redis its rooms are shared with other users' servers, which must not hold the
    Janus secrets: the extension does not start, and says where the SFU belongs."""
    (extension,) = [
        app
        for apps in jp_serverapp.extension_manager.extension_apps.values()
        for app in apps
        if isinstance(app, NBConference)
    ]
    await jp_serverapp.extension_manager.start_all_extensions()
    assert extension.registry is None and extension.janus is None
    assert "`nbconference serve --redis URL --sfu janus`" in extension.refused
    assert "docs/deployment.md" in extension.refused
    with pytest.raises(SharedSecretRefused, match="JupyterHub service"):
        refuse_shared_secrets(extension, {})

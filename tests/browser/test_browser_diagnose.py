"""``w.diagnose()`` in real Chromium pages against real coturns: the kernel asks, each page
checks its connection and the report lands in ``w.diagnostics`` and in the page's ⓘ panel.

The Jupyter server hands out credentials for two coturns: one shares its secret
(``turn_secret``), the other was started with a different static-auth-secret. The check
gets a relay over UDP from the first, and names the second as refusing our credentials.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from support.coturn import Coturn, needs_coturn, running_coturn
from support.lab import JupyterLab, running_lab
from support.meeting import Meeting
from support.mesh import wait_for_full_mesh
from support.pages import Participant
from support.polling import wait_until
from support.timeouts import TIMEOUT

pytestmark = needs_coturn


@pytest.fixture(scope="module")
def wrong_coturn() -> Iterator[Coturn]:
    """A coturn whose static-auth-secret is not the Jupyter server's turn_secret."""
    with running_coturn() as server:
        yield server


@pytest.fixture(scope="module")
def jupyter_lab(
    coturn: Coturn, wrong_coturn: Coturn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterLab]:
    assert coturn.secret != wrong_coturn.secret
    args = [
        f"--NBConference.turn_urls={coturn.url}",
        f"--NBConference.turn_urls={wrong_coturn.url}",
        f"--NBConference.turn_secret={coturn.secret}",
    ]
    with running_lab(tmp_path_factory.mktemp("lab"), args) as lab:
        yield lab


def refused(url: str) -> str:
    return (
        f"The TURN server {url} refused our credentials (401): its static-auth-secret "
        "and c.NBConference.turn_secret differ."
    )


def diagnosed_after(person: Participant, since: float) -> dict[str, Any] | None:
    """The viewer's report in ``w.diagnostics`` once one finished after ``since``."""
    entries: list[dict[str, Any]] = person.value("w.diagnostics")
    fresh = [e for e in entries if (e.get("finished_at") or 0) > since]
    return fresh[0] if len(entries) == 1 and fresh else None


def test_diagnose_fills_every_field_and_names_the_turn_server_that_refuses_us(
    meeting: Meeting, coturn: Coturn, wrong_coturn: Coturn
) -> None:
    room = meeting.room()
    ada, bob = meeting.join(room, ["ada", "bob"])
    wait_for_full_mesh([ada, bob])
    # The links' routes come from the stats loop: wait for its first sample of the link.
    wait_until(
        lambda: (ada.value("w.stats").get(bob.peer_id) or {}).get("route"),
        TIMEOUT,
        "a route in ada's w.stats",
    )
    assert ada.value("w.diagnostics") == []

    asked = time.time()
    ada.run("w.diagnose()")
    report = wait_until(lambda: diagnosed_after(ada, asked), TIMEOUT, "ada's diagnosis")
    print(f"w.diagnose(): report in w.diagnostics {time.time() - asked:.2f} s after asking")

    # Named as the server knows each person (Jupyter's identity).
    name = ada.identity()["display_name"]
    assert (report["id"], report["name"]) == (ada.peer_id, name)
    assert report["secure_context"] is True
    assert report["permissions"]["camera"] in ("granted", "prompt"), report["permissions"]
    assert report["permissions"]["microphone"] in ("granted", "prompt"), report["permissions"]
    counts = report["devices"]["counts"]
    assert counts["camera"] >= 1 and counts["microphone"] >= 1, report["devices"]
    assert {d["kind"] for d in report["devices"]["in_use"]} >= {"camera", "microphone"}
    assert 0 < report["signaling"]["rtt_ms"] < 5000, report["signaling"]

    good, bad = report["turn"]
    print(
        f"w.diagnose(): finished in the page {report['finished_at'] - asked:.2f} s after "
        f"asking; relay from coturn in {good['ms']} ms, the refusal: {bad['error']!r}"
    )
    assert good["url"] == coturn.url and good["ok"] is True, good
    assert good["protocol"] == "udp" and 0 <= good["ms"] < 5000, good
    assert bad["url"] == wrong_coturn.url and bad["ok"] is False, bad
    assert bad["error_code"] == 401, bad
    # The credentials stay in the page.
    assert "credential" not in good and "username" not in good

    (link,) = report["links"]
    assert link["id"] == bob.peer_id and link["name"] == bob.identity()["display_name"], link
    assert link["connection"] == "connected" and link["route"], link
    assert link["local_address_type"] and link["remote_address_type"], link
    assert link["rtt_ms"] is not None and link["problem"] == "", link

    # The one thing that fails, in one sentence.
    assert report["advice"] == [refused(wrong_coturn.url)]

    # The ⓘ panel shows the same report, and a person can run it again from there.
    root = ada.page.locator(".nbc-root")
    root.locator('button[data-action="diagnosis"]').click()
    panel = root.locator(".nbc-diagnosis")
    panel.wait_for(state="visible", timeout=TIMEOUT * 1000)
    advice = panel.locator(".nbc-diagnosis-advice")
    assert advice.inner_text().strip() == refused(wrong_coturn.url)
    assert "relay over udp" in panel.locator(".nbc-diagnosis-lines").inner_text()
    again = time.time()
    panel.locator('button[data-action="run-diagnosis"]').click()
    rerun = wait_until(lambda: diagnosed_after(ada, again), TIMEOUT, "ada's second diagnosis")
    assert rerun["advice"] == [refused(wrong_coturn.url)]
    # Bob's kernel asked nothing: his page ran no check.
    assert bob.value("w.diagnostics") == []

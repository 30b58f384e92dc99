"""The recorder's manifest under a flood of state changes: three participants flip their
camera, microphone and hand hundreds of times, and the recorder's loop keeps time while
the manifest keeps only what changed, ending on everyone's final state.

The server (``nbconference serve``) and the flooding clients run in processes of their
own, so the loop measured here is the recorder's alone (see support.loop_lag for what is
measured).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("aiortc")

from nbconference import Recorder
from support.loop_lag import LoopLag
from support.polling import GiveUp, eventually
from support.standalone import ServeProcess
from support.state_flood import StateFlood, final_state

FLIPPERS = 3
FLIPS = 600  # per client, about 2.5 s at the clients' pace
MAX_STALL = 0.1  # seconds of the loop's own work between two 10 ms ticks
MAX_PER_FRAME = 0.001  # seconds of the loop's work per state frame, on average


@pytest.fixture
def server() -> Iterator[ServeProcess]:
    with ServeProcess() as running:
        yield running


def recorded_state(events: list[dict[str, object]], peer_id: str) -> dict[str, bool]:
    """What the events say ``peer_id``'s camera, microphone and screen ended as."""
    state = {"camera": False, "microphone": False, "screen": False}
    for event in events:
        key, _, value = str(event["event"]).partition(" ")
        if event["peer_id"] == peer_id and key in state and value in ("on", "off"):
            state[key] = value == "on"
    return state


async def test_a_flood_of_state_changes_neither_stalls_the_recorder_nor_bloats_the_manifest(
    server: ServeProcess, tmp_path: Path
) -> None:
    flood = StateFlood(server.url, server.token, "lab", FLIPPERS, FLIPS)
    try:
        rec = await Recorder.start("lab", tmp_path, url=server.url, token=server.token)
        try:
            lag = LoopLag().start()
            flood.go()
            sent = await asyncio.to_thread(flood.done)

            def final_states_seen() -> bool:
                if rec.stopped_reason:  # it left the room (its links are gone): no use waiting
                    raise GiveUp(f"the recorder stopped: {rec.stopped_message}")
                return all(
                    {k: rec.links[p].state.get(k) for k in final_state(n)} == final_state(n)
                    for n, p in enumerate(flood.ids)
                )

            await eventually(final_states_seen, 60, "the recorder to see everyone's final state")
            await lag.stop()
        finally:
            await rec.stop()
    finally:
        flood.close()
    assert sent == FLIPPERS * (FLIPS + 1)
    assert lag.ticks > 50, lag.ticks  # it measured the whole flood
    # The loop's own work (CPU time), between two ticks and in all: what a machine busy
    # with other things does not add to (a tick's lateness, in the message, may also
    # have waited for a core: seen 270 ms for an idle loop at a load average of 40).
    assert lag.worst_held < MAX_STALL, str(lag)
    assert lag.held < MAX_PER_FRAME * sent, f"{lag.held / sent * 1000:.2f} ms a frame; {lag}"

    manifest = json.loads(rec.manifest_path.read_text())
    events = manifest["events"]
    assert manifest == rec.manifest_json()
    # Every event is in events.jsonl as well, in the same order.
    lines = (rec.path / "events.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == events
    for n, peer_id in enumerate(flood.ids):
        assert recorded_state(events, peer_id) == final_state(n), (n, peer_id)
    # Hands make no events; camera and microphone flips are coalesced, far fewer than sent.
    assert not [e for e in events if "hand" in str(e["event"])]
    flips = [e for e in events if str(e["event"]).split(" ")[0] in ("camera", "microphone")]
    assert len(flips) < FLIPPERS * FLIPS / 10, len(flips)
    offsets = [e["offset"] for e in events]
    assert offsets == sorted(offsets)

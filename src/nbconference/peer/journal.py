"""The recording's manifest files, written on a thread of their own so the event loop
never waits for the disk (nor for JSON) whatever happens in the room.

``events.jsonl`` gets one line per event as it happens (flushed at once: a recorder that
dies leaves every event it noted); ``manifest.json`` is rewritten, when asked, from a
snapshot of everything but the events plus every event so far. Each event is turned into
JSON once, on this thread, and that text serves both files, so a rewrite costs a join of
strings rather than serializing the whole history again.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from pathlib import Path
from typing import Any

from .recording import write_manifest

log = logging.getLogger("nbconference")

EVENTS = "events.jsonl"


class Journal:
    """Writes ``events.jsonl`` and ``manifest.json`` in ``folder`` until :meth:`close`."""

    def __init__(self, folder: Path, manifest: str) -> None:
        self.events_path = folder / EVENTS
        self.manifest_path = folder / manifest
        self.error = ""  # the last write that failed, as a sentence
        self._lines: list[str] = []
        self._jobs: queue.SimpleQueue[tuple[str, Any] | None] = queue.SimpleQueue()
        self._asked = 0  # manifest snapshots handed over; only the newest is written
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="nbconference-manifest")
        self._thread.daemon = True  # never keeps a dying process alive; close() joins it
        self._thread.start()

    def event(self, event: dict[str, Any]) -> None:
        """Append ``event`` (not changed afterwards) to events.jsonl and later manifests."""
        if not self._closed:
            self._jobs.put(("event", event))

    def save(self, head: dict[str, Any]) -> None:
        """Rewrite manifest.json: ``head`` (a snapshot the caller no longer changes) with
        every event handed over before it. Snapshots queued behind a newer one are skipped."""
        if not self._closed:
            self._asked += 1
            self._jobs.put(("manifest", (self._asked, head)))

    def close(self, head: dict[str, Any], timeout: float = 10.0) -> bool:
        """Write the last manifest, then stop the thread; False if it did not end in time."""
        if not self._closed:
            self.save(head)
            self._closed = True
            self._jobs.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            events = self.events_path.open("a", encoding="utf-8")
        except OSError as exc:
            self._failed(f"could not open {self.events_path}: {exc}")
            events = None
        try:
            while (job := self._jobs.get()) is not None:
                what, value = job
                try:
                    if what == "event":
                        line = json.dumps(value)
                        self._lines.append(line)
                        if events is not None:
                            events.write(line + "\n")
                            events.flush()
                    elif value[0] == self._asked:  # nothing newer waits behind it
                        write_manifest(self.manifest_path, value[1], self._lines)
                except OSError as exc:
                    self._failed(f"could not write the recording's {what}: {exc}")
        finally:
            if events is not None:
                events.close()

    def _failed(self, message: str) -> None:
        self.error = message
        log.error("nbconference: %s", message)

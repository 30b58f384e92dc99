"""A bounded history of connection statistics, as rows, a DataFrame or a plot.

The browser samples ``getStats()`` and reduces it to one flat record per remote peer
(rtt_ms, jitter_ms, packets_lost, loss_pct, bitrate_in_kbps, bitrate_out_kbps, fps_in,
fps_out, frame_width, frame_height, audio_level, connection, and quality: the
good/fair/poor grade its tile shows, see js/quality.js). Each update of the widget's
``stats`` trait is one sample here; pandas and matplotlib are needed only to read it back
as a table or a plot.

What this browser sends the peer, and why not more (js/budget.js): ``send_width`` and
``send_height`` (our camera as encoded for this link) with ``fps_out``; ``send_active``
(False: the peer shows none of our camera, so nothing is encoded for it);
``send_max_height`` (the height the budget allows this link, 0 when paused);
``send_limit``, why the link gets less than the camera captures: ``receiver`` (the peer
shows us smaller, or not at all), ``room`` (the per-link budget of the room's size),
``screen`` (our screen share is on), ``cpu`` (the encoders lacked CPU and were stepped
down) or ``bandwidth`` (the network holds the encoder back), None when nothing does;
``requested_height`` (how high the peer shows our camera: its request, None until it
said) and ``quality_limitation`` (the browser's own ``qualityLimitationReason``).

How the link reaches the peer (the selected ICE candidate pair): ``route``, the less
direct of its two ends (``host``: directly; ``srflx`` or ``prflx``: through a NAT;
``relay``: through a TURN server); ``route_local`` and ``route_remote``, the candidate
types of our end and the peer's; ``route_protocol`` (``udp`` or ``tcp``); and
``relay_protocol``, how this browser reaches the TURN server when its end is relayed
(``udp``, ``tcp`` or ``tls``), else None. No addresses are reported.

How the peer's media reach this browser: ``via`` is ``"direct"`` (a mesh link of its
own) or ``"sfu"`` (through the server's SFU, on the subscriber connection it shares with
every other feed; ``route`` is then that connection's); ``layer`` is the simulcast layer
of the peer's camera asked of the SFU (0 lowest to 2; None on a mesh link or when no
video of it is received).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

DEFAULT_METRICS = ("bitrate_in_kbps", "bitrate_out_kbps", "fps_in", "rtt_ms")
MISSING_EXTRA = "pip install 'nbconference[stats]'"


class StatsHistory:
    """The last ``max_samples`` samples of per-peer statistics."""

    def __init__(self, max_samples: int = 3600) -> None:
        if max_samples < 1:
            raise ValueError("max_samples must be at least 1")
        self._samples: deque[tuple[float, dict[str, dict[str, Any]]]] = deque(maxlen=max_samples)

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, stats: Mapping[str, Mapping[str, Any]], at: float | None = None) -> None:
        """Record one sample: peer id → flat record. Empty samples are skipped."""
        if stats:
            snapshot = {str(pid): dict(record) for pid, record in stats.items()}
            self._samples.append((time.time() if at is None else at, snapshot))

    def rows(self) -> list[dict[str, Any]]:
        """One dict per link and sample: ``time``, ``peer_id`` (the remote peer),
        ``viewer`` (the browser that measured it) and the record's fields."""
        rows = []
        for at, sample in self._samples:
            for key, record in sample.items():
                fields = {k: v for k, v in record.items() if k not in ("peer", "viewer")}
                peer = str(record.get("peer") or key)
                viewer = str(record.get("viewer") or "")
                rows.append({"time": at, "peer_id": peer, "viewer": viewer, **fields})
        return rows

    def frame(self) -> Any:
        """The history as a pandas DataFrame indexed by time (a datetime), one row per
        peer and sample."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(f"stats_frame() needs pandas: {MISSING_EXTRA}") from None
        table = pd.DataFrame(self.rows())
        if table.empty:
            columns = ["peer_id", "viewer"]
            return pd.DataFrame(columns=columns, index=pd.DatetimeIndex([], name="time"))
        table["time"] = pd.to_datetime(table["time"], unit="s")
        return table.set_index("time")

    def plot(
        self, metrics: Iterable[str] = DEFAULT_METRICS, names: Mapping[str, str] | None = None
    ) -> Any:
        """A matplotlib figure with one panel per metric and one line per link (per peer,
        and per viewer too when several browsers measured)."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError(f"plot_stats() needs matplotlib: {MISSING_EXTRA}") from None
        metrics = list(metrics)
        table = self.frame()
        fig, axes = plt.subplots(len(metrics), 1, sharex=True, figsize=(8, 2.2 * len(metrics)))
        axes = [axes] if len(metrics) == 1 else list(axes)
        for ax, metric in zip(axes, metrics, strict=True):
            ax.set_ylabel(metric)
            if metric not in table:
                continue
            several = table["viewer"].nunique() > 1
            for (viewer, pid), rows in table.groupby(["viewer", "peer_id"]):
                label = (names or {}).get(str(pid), str(pid)[:8])
                if several:
                    label = f"{(names or {}).get(str(viewer), str(viewer)[:8])} → {label}"
                ax.plot(rows.index, rows[metric], label=label)
        if table.empty:
            axes[0].set_title("no statistics yet: join a room with at least one other peer")
        elif axes:
            axes[0].legend(loc="upper left", fontsize="small")
        axes[-1].set_xlabel("time")
        fig.tight_layout()
        return fig

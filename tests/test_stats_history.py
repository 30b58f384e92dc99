import pytest

from nbconference.stats_history import StatsHistory


def sample(kbps: float, fps: float) -> dict[str, dict[str, float]]:
    return {
        "peer-a": {"bitrate_in_kbps": kbps, "fps_in": fps, "rtt_ms": 3.0},
        "peer-b": {"bitrate_in_kbps": kbps / 2, "fps_in": fps / 2, "rtt_ms": 5.0},
    }


def test_history_is_bounded_and_keeps_the_newest() -> None:
    history = StatsHistory(max_samples=3)
    for second in range(5):
        history.add(sample(100.0 * second, 10.0), at=1000.0 + second)
    rows = history.rows()
    assert len(history) == 3
    assert [r["time"] for r in rows if r["peer_id"] == "peer-a"] == [1002.0, 1003.0, 1004.0]
    assert rows[-1] == {
        "time": 1004.0,
        "peer_id": "peer-b",
        "viewer": "",
        "bitrate_in_kbps": 200.0,
        "fps_in": 5.0,
        "rtt_ms": 5.0,
    }


def test_empty_samples_are_skipped() -> None:
    history = StatsHistory()
    history.add({})
    assert len(history) == 0 and history.rows() == []


def test_frame_has_a_row_per_peer_and_sample() -> None:
    pd = pytest.importorskip("pandas")
    history = StatsHistory()
    history.add(sample(800.0, 30.0), at=0.0)
    history.add(sample(900.0, 25.0), at=1.0)
    table = history.frame()
    assert isinstance(table.index, pd.DatetimeIndex)
    assert len(table) == 4
    assert table[table.peer_id == "peer-a"]["bitrate_in_kbps"].tolist() == [800.0, 900.0]


def test_plot_draws_a_line_per_peer_per_metric() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    history = StatsHistory()
    for second in range(3):
        history.add(sample(500.0, 20.0), at=float(second))
    fig = history.plot(metrics=("bitrate_in_kbps", "fps_in"))
    assert len(fig.axes) == 2
    assert all(len(ax.get_lines()) == 2 for ax in fig.axes)
    assert [ax.get_ylabel() for ax in fig.axes] == ["bitrate_in_kbps", "fps_in"]

"""Replay sources: a database copy and a CSV export give the same readings, in time order."""

from __future__ import annotations

import asyncio

from pi_dashboard.history.codec import Samples
from pi_dashboard.history.export import header, rows
from pi_dashboard.history.replay import open_recording, play
from pi_dashboard.history.store import SeriesInfo, Store

T0 = 1_800_000_000


def recorded(tmp_path):
    path = tmp_path / "copy.sqlite3"
    store = Store(path, clock=lambda: T0 + 7300.0)
    with store.transaction():
        t = store.register(SeriesInfo(sensor="tank", channel="temperature", unit="°C",
                                      kind="temperature", precision=1))  # fmt: skip
        h = store.register(SeriesInfo(sensor="tank", channel="level", unit="m", precision=2))
    for k in range(0, 7200, 600):  # two hours, ten-minute flushes, sealed on the way
        ms = [(T0 + k + i) * 1000 for i in range(0, 600, 60)]
        store.append({t: Samples(1, ms, [200 + i for i in range(10)]),
                      h: Samples(2, ms, [150] * 10)})  # fmt: skip
        if k == 3600:
            store.seal_all()
    infos = [store.series[t], store.series[h]]
    csv_text = header(infos) + rows(
        infos, [store.grid(t, T0, T0 + 7200, 0), store.grid(h, T0, T0 + 7200, 0)]
    )
    store.close()
    csv_path = tmp_path / "export.csv"
    csv_path.write_text(csv_text)
    return path, csv_path


def test_a_database_copy_and_its_export_replay_the_same(tmp_path):
    db, csv_path = recorded(tmp_path)
    from_db = open_recording(db)
    from_csv = open_recording(csv_path)
    assert [(i.sensor, i.channel, i.unit, i.kind) for i in from_db.channels] == [
        ("tank", "temperature", "°C", "temperature"),
        ("tank", "level", "m", "none"),
    ]
    assert [(i.channel, i.kind) for i in from_csv.channels] == [
        ("temperature", "temperature"),
        ("level", "distance"),
    ]
    a, b = list(from_db.events()), list(from_csv.events())
    assert len(a) == 120
    assert [e[0] for e in a] == sorted(e[0] for e in a)
    assert [(round(t, 3), s, v) for t, s, v in a] == [(round(t, 3), s, v) for t, s, v in b]
    assert a[0][2] == {"temperature": 20.0, "level": 1.5}


async def test_play_keeps_the_recorded_pace_faster(tmp_path):
    """Two recorded hours at 28 800x take a quarter of a second, in order, stamped as played."""
    import time

    _, csv_path = recorded(tmp_path)
    rec = open_recording(csv_path)
    got: list[tuple[float, dict]] = []
    started = time.time()
    await asyncio.wait_for(
        play(rec, lambda s, ts, v: got.append((ts, v)), speed=28_800.0), timeout=10
    )
    elapsed = time.time() - started
    assert len(got) == 120
    assert [ts for ts, _ in got] == sorted(ts for ts, _ in got)
    assert got[0][0] >= started
    assert elapsed >= (7200 - 60) / 28_800 * 0.95
    assert got[-1][1] == {"temperature": 20.9, "level": 1.5}

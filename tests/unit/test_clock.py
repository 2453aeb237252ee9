from nudge import clock


def test_real_time_by_default(monkeypatch):
    monkeypatch.setattr(clock.time, "time", lambda: 1_000.7)
    monkeypatch.setattr(clock, "_scale", 1.0)
    assert clock.now() == 1_000


def test_scaled_time_counts_from_the_epoch(monkeypatch):
    monkeypatch.setattr(clock.time, "time", lambda: 1_010.0)
    monkeypatch.setattr(clock, "_scale", 3600.0)
    monkeypatch.setattr(clock, "_epoch", 1_000.0)
    assert clock.now() == 1_000 + 10 * 3600  # ten real seconds are ten hours

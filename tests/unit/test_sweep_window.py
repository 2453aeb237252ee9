"""Which minutes a minutely sweep reads after its bookmark."""

from nudge import sweep_window
from nudge.sweep_window import MAX_MINUTES_PER_RUN


def test_a_first_run_reads_the_previous_and_the_current_minute():
    window = sweep_window.window(None, 600 * 60 + 5)
    assert list(window.minutes) == [599, 600]
    assert window.bookmark() == 599  # the current minute is read again next time


def test_a_run_resumes_after_its_bookmark():
    window = sweep_window.window(597, 600 * 60)
    assert list(window.minutes) == [598, 599, 600]
    assert window.behind == 0
    assert window.bookmark() == 599


def test_after_a_long_outage_each_run_catches_up_a_bounded_number_of_minutes_and_skips_none():
    now = 10_000 * 60
    bookmark = 10_000 - 2 * 24 * 60  # two days behind
    read: list[int] = []
    for _ in range(20):
        window = sweep_window.window(bookmark, now)
        assert len(window.minutes) <= MAX_MINUTES_PER_RUN
        read.extend(window.minutes)
        bookmark = window.bookmark()
        if not window.behind:
            break
    assert read[: len(read) - 1] == list(range(10_000 - 2 * 24 * 60 + 1, 10_000))
    assert read[-1] == 10_000

import logging
import math
import threading
import time

import pytest

from nudge_tools.local.scheduler import Scheduler

DAY = 86_400
WAIT = 5.0  # the most any test waits for something that should happen in milliseconds


@pytest.fixture
def make_scheduler():
    """Schedulers stopped after the test even when it fails."""
    made = []

    def make(time_scale):
        scheduler = Scheduler(time_scale)
        made.append(scheduler)
        return scheduler

    yield make
    for scheduler in made:
        scheduler.stop(timeout=1)


def test_one_off_jobs_run_in_due_order_not_the_order_added(make_scheduler):
    scheduler = make_scheduler(time_scale=DAY * 100)  # a simulated day is 10 ms
    ran, done = [], threading.Event()

    def third():
        ran.append("third")
        done.set()

    scheduler.at(3 * DAY, "third", third)
    scheduler.at(1 * DAY, "first", lambda: ran.append("first"))
    scheduler.at(2 * DAY, "second", lambda: ran.append("second"))
    scheduler.start()
    assert done.wait(WAIT)
    assert ran == ["first", "second", "third"]


def test_jobs_due_together_run_in_the_order_added_on_the_scheduler_thread(make_scheduler):
    scheduler = make_scheduler(time_scale=1)
    ran, threads, done = [], set(), threading.Event()

    def record(n):
        ran.append(n)
        threads.add(threading.current_thread().name)
        if n == 9:
            done.set()

    for n in range(10):
        scheduler.at(0, f"job-{n}", lambda n=n: record(n))
    scheduler.start()
    assert done.wait(WAIT)
    assert ran == list(range(10))
    assert threads == {"nudge-local-scheduler"}


def test_simulated_delay_is_divided_by_the_time_scale(make_scheduler):
    scale = DAY * 5  # two simulated days are 0.4 s
    scheduler = make_scheduler(time_scale=scale)
    fired = threading.Event()
    scheduler.start()
    scheduled = time.monotonic()
    scheduler.at(2 * DAY, "two-days", fired.set)
    (entry,) = scheduler.status()
    elapsed = time.monotonic() - scheduled
    # Reported in simulated seconds: two days less what has passed since, however loaded the machine.
    assert 2 * DAY - (elapsed * scale + 1) <= entry["due_in_seconds"] <= 2 * DAY
    assert fired.wait(WAIT)
    assert time.monotonic() - scheduled >= 2 / 5 * 0.99  # never early (allow float rounding)


def test_a_job_added_while_running_is_picked_up_at_once(make_scheduler):
    scheduler = make_scheduler(time_scale=1)
    scheduler.at(3600, "an-hour-away", lambda: None)  # the thread now sleeps until this one
    scheduler.start()
    fired = threading.Event()
    added = time.monotonic()
    scheduler.at(0, "now", fired.set)
    assert fired.wait(WAIT)
    assert time.monotonic() - added < 1


def test_recurring_job_runs_repeatedly_and_reports_its_status(make_scheduler):
    scheduler = make_scheduler(time_scale=3600 * 200)  # a simulated hour is 5 ms
    runs, third = [], threading.Event()

    def tick():
        runs.append(time.monotonic())
        if len(runs) == 3:
            third.set()

    scheduler.every(3600, "hourly", tick)
    scheduler.start()
    assert third.wait(WAIT)
    scheduler.stop()
    (entry,) = scheduler.status()
    assert entry["name"] == "hourly"
    assert entry["kind"] == "every"
    assert entry["runs"] == len(runs) >= 3
    assert entry["failures"] == 0 and entry["last_error"] is None
    assert 0 <= entry["due_in_seconds"] <= 3600


def test_every_with_first_after_runs_first_then_keeps_the_interval(make_scheduler):
    scheduler = make_scheduler(time_scale=1)
    fired = threading.Event()
    scheduler.every(3600, "hourly-from-now", fired.set, first_after=0)
    scheduler.start()
    assert fired.wait(WAIT)
    scheduler.stop()
    (entry,) = scheduler.status()
    assert entry["runs"] == 1
    assert entry["due_in_seconds"] == pytest.approx(3600, abs=5)


def test_failures_are_logged_and_counted_and_the_schedule_carries_on(make_scheduler, caplog):
    scheduler = make_scheduler(time_scale=1000)
    third_failure, later_job = threading.Event(), threading.Event()
    failures = []

    def broken():
        failures.append(1)
        if len(failures) == 3:
            third_failure.set()
        raise ValueError("template missing")

    def once_broken():
        raise KeyError("person")

    scheduler.every(10, "broken-every", broken)  # 10 ms
    scheduler.at(0, "broken-once", once_broken)
    scheduler.at(25, "after-the-failures", later_job.set)
    with caplog.at_level(logging.ERROR, logger="nudge.local"):
        scheduler.start()
        assert third_failure.wait(WAIT)
        assert later_job.wait(WAIT)
        scheduler.stop()

    status = {entry["name"]: entry for entry in scheduler.status()}
    assert status["broken-every"]["failures"] == status["broken-every"]["runs"] >= 3
    assert status["broken-every"]["last_error"] == "ValueError: template missing"
    assert status["broken-every"]["due_in_seconds"] is not None  # still scheduled
    assert status["broken-once"] == {
        "name": "broken-once",
        "kind": "once",
        "due_in_seconds": None,
        "runs": 1,
        "failures": 1,
        "last_error": "KeyError: 'person'",
    }
    assert status["after-the-failures"]["runs"] == 1
    failed = [record for record in caplog.records if record.name == "nudge.local"]
    assert any("broken-once" in record.getMessage() and record.exc_info for record in failed)


def test_actions_run_one_at_a_time(make_scheduler):
    scheduler = make_scheduler(time_scale=1)
    first_started, release, second_ran = threading.Event(), threading.Event(), threading.Event()
    order = []

    def first():
        order.append("first started")
        first_started.set()
        release.wait(WAIT)
        order.append("first finished")

    def second():
        order.append("second")
        second_ran.set()

    scheduler.at(0, "first", first)
    scheduler.at(0, "second", second)
    scheduler.start()
    assert first_started.wait(WAIT)
    assert not second_ran.wait(0.05)  # due, but the first action still holds the thread
    release.set()
    assert second_ran.wait(WAIT)
    assert order == ["first started", "first finished", "second"]


@pytest.mark.parametrize("with_jobs", [True, False], ids=["sleeping-until-a-job", "idle"])
def test_stop_is_prompt(with_jobs):
    scheduler = Scheduler(time_scale=1)
    if with_jobs:
        scheduler.at(3600, "an-hour-away", lambda: None)
        scheduler.every(60, "every-minute", lambda: None)
    scheduler.start()
    started = time.monotonic()
    scheduler.stop()
    assert time.monotonic() - started < 0.5
    assert scheduler._thread is not None and not scheduler._thread.is_alive()
    assert len(scheduler.status()) == (2 if with_jobs else 0)  # pending jobs survive for a restart


def test_stop_without_start_and_restart_after_stop(make_scheduler):
    scheduler = make_scheduler(time_scale=1)
    scheduler.stop()
    scheduler.start()
    with pytest.raises(RuntimeError):
        scheduler.start()
    scheduler.stop()
    fired = threading.Event()
    scheduler.at(0, "after-restart", fired.set)
    scheduler.start()
    assert fired.wait(WAIT)


def test_a_recurring_job_that_overruns_skips_the_missed_runs():
    # Driven by a fake clock, without the thread, so the arithmetic is exact.
    now = [1000.0]
    scheduler = Scheduler(time_scale=1)
    scheduler._clock = lambda: now[0]
    scheduler.every(10, "every-ten", lambda: None)
    now[0] = 1010.0
    job = scheduler._next_due()
    assert job is not None and job.name == "every-ten"
    now[0] = 1045.0  # the action took 3.5 intervals
    scheduler._reschedule(job)
    (entry,) = scheduler.status()
    assert entry["due_in_seconds"] == pytest.approx(5)  # 1050, not 1020, 1030, 1040 back to back


@pytest.mark.parametrize(
    "call",
    [
        lambda: Scheduler(0),
        lambda: Scheduler(-1),
        lambda: Scheduler(math.inf),
        lambda: Scheduler().every(0, "zero", lambda: None),
        lambda: Scheduler().every(-5, "negative", lambda: None),
        lambda: Scheduler().at(math.nan, "nan", lambda: None),
        lambda: Scheduler().every(60, "nan-first", lambda: None, first_after=math.nan),
    ],
)
def test_nonsense_times_are_refused(call):
    with pytest.raises(ValueError):
        call()


def test_a_delay_in_the_past_runs_now(make_scheduler):
    scheduler = make_scheduler(time_scale=1)
    fired = threading.Event()
    scheduler.at(-3600, "overdue", fired.set)
    assert scheduler.status()[0]["due_in_seconds"] == 0
    scheduler.start()
    assert fired.wait(WAIT)

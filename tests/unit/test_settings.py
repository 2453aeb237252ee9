"""The settings are read from the environment once, and again only when told to."""

from __future__ import annotations

import os

from nudge import settings


def test_the_environment_is_read_once_until_reloaded() -> None:
    first = settings.get_settings()
    os.environ["NUDGE_STAGE"] = "read-once-test"  # not through monkeypatch, which reloads
    try:
        assert settings.get_settings() is first
        assert first.stage != "read-once-test"

        settings.reload()

        assert settings.get_settings().stage == "read-once-test"
    finally:
        del os.environ["NUDGE_STAGE"]
        settings.reload()


def test_a_table_named_by_its_own_variable_overrides_the_prefix() -> None:
    read = settings.read_settings({"NUDGE_TABLE_PREFIX": "p-", "NUDGE_PEOPLE_TABLE": "Stack-People1A2B"})

    assert read.table_name("people") == "Stack-People1A2B"
    assert read.table_name("events") == "p-events"


def test_unset_and_empty_variables_read_as_absent() -> None:
    read = settings.read_settings({"NUDGE_DEFAULT_FROM": "", "NUDGE_TIME_SCALE": ""})

    assert read.default_from is None
    assert read.time_scale == 1.0
    assert read.track_url == settings.DEFAULT_TRACK_URL and not read.track_url_set

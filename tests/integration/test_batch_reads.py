"""A v2 batch reads its person identifies' lookups and suppressions up front, and answers as before."""

import pytest

from nudge.model import IdentifierLookup, Suppression
from tests.support.people import by, profile


def identify(identifiers, **attributes):
    return {"type": "person", "action": "identify", "identifiers": identifiers, "attributes": attributes}


@pytest.fixture
def single_reads(monkeypatch):
    """Counts the GetItem calls for lookups and suppressions (the reads the batch makes up front)."""
    calls = []
    for model in (IdentifierLookup, Suppression):
        original = model.get.__func__

        def counted(cls, *args, original=original, **kwargs):
            calls.append(cls.__name__)
            return original(cls, *args, **kwargs)

        monkeypatch.setattr(model, "get", classmethod(counted))
    return calls


def test_importing_new_people_reads_no_lookup_one_by_one(track, ws, single_reads):
    batch = [identify({"id": f"imp-{n}"}, email=f"imp-{n}@example.com", plan="free") for n in range(60)]
    assert track.post("/api/v2/batch", {"batch": batch}).status == 200
    assert single_reads == []
    for n in (0, 59):
        assert by(ws, "email", f"imp-{n}@example.com")["id"] == f"imp-{n}"


def test_the_same_person_twice_in_a_batch_is_one_person(track, ws):
    batch = [
        identify({"id": "twice"}, email="twice@example.com", plan="free"),
        identify({"email": "twice@example.com"}, plan="pro", seats=3),
        identify({"id": "twice"}, team="blue"),
    ]
    assert track.post("/api/v2/batch", {"batch": batch}).status == 200
    attributes = profile(ws, "twice")["attributes"]
    assert (attributes["plan"], attributes["seats"], attributes["team"]) == ("pro", 3, "blue")
    assert by(ws, "email", "twice@example.com")["id"] == "twice"


def test_a_suppression_earlier_in_the_batch_still_drops_a_later_identify(track, ws):
    batch = [
        {"type": "person", "action": "suppress", "identifiers": {"id": "gone"}},
        identify({"id": "gone"}, plan="pro"),
    ]
    assert track.post("/api/v2/batch", {"batch": batch}).status == 200
    assert profile(ws, "gone") is None


def test_a_person_deleted_earlier_in_the_batch_is_created_anew(track, ws):
    assert track.post("/api/v2/batch", {"batch": [identify({"id": "again"}, plan="old")]}).status == 200
    first = by(ws, "id", "again")["cio_id"]
    batch = [
        {"type": "person", "action": "delete", "identifiers": {"id": "again"}},
        identify({"id": "again"}, plan="new"),
    ]
    assert track.post("/api/v2/batch", {"batch": batch}).status == 200
    person = by(ws, "id", "again")
    assert (person["attributes"]["plan"], person["cio_id"] != first) == ("new", True)

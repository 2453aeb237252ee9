import pytest

from nudge import ids
from nudge.errors import InvalidRequest
from nudge.tracking.identifiers import PersonRef, from_map, from_path, from_typed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("u1", PersonRef("id", "u1")),
        ("u%201%2Fx", PersonRef("id", "u 1/x")),
        ("cio_abc123", PersonRef("cio_id", "abc123")),
        ("Ann%40Example.com", PersonRef("email", "Ann@Example.com")),
        ("cio_", PersonRef("id", "cio_")),
        ("12345", PersonRef("id", "12345")),
    ],
)
def test_path_identifiers(raw, expected):
    assert from_path(raw) == expected


def test_email_lookups_ignore_case_and_ids_do_not():
    assert PersonRef("email", "A@B.com").lookup_value == "a@b.com"
    assert PersonRef("id", "AbC").lookup_value == "AbC"


def test_typed_cio_ids_accept_the_prefix():
    assert from_typed("cio_id", "cio_abc") == PersonRef("cio_id", "abc")


def test_identifier_maps_need_exactly_one_known_key():
    assert from_map({"email": "a@b.c"}) == PersonRef("email", "a@b.c")
    for bad in ({}, {"id": 1, "email": "x"}, {"name": "x"}, "u1", None):
        with pytest.raises(InvalidRequest):
            from_map(bad)
    with pytest.raises(InvalidRequest):
        from_map({"phone": "+1"}, allow_phone=False)


def test_ulids_sort_by_time_and_are_26_chars():
    first, second = ids.ulid(1_000), ids.ulid(2_000)
    assert len(first) == 26 and first < second

import pytest

from nudge.errors import InvalidRequest
from nudge.tracking import limits


def messages(fn, *args):
    with pytest.raises(InvalidRequest) as info:
        fn(*args)
    return info.value.messages


def test_byte_len_counts_utf8_bytes_for_strings_and_json_for_the_rest():
    assert limits.byte_len("é") == 2
    assert limits.byte_len({"a": 1}) == len('{"a":1}')
    assert limits.byte_len(12345) == 5


def test_attribute_limits_are_inclusive():
    limits.check_attributes({"n" * 150: "v" * 1000})
    assert messages(limits.check_attributes, {"n" * 151: 1}) == [
        "attribute name cannot be longer than 150 bytes"
    ]
    assert messages(limits.check_attributes, {"n": "v" * 1001}) == [
        "value for attribute 'n' cannot be longer than 1000 bytes"
    ]


def test_nested_values_count_as_their_json():
    assert messages(limits.check_attributes, {"n": ["x" * 999]}) == [
        "value for attribute 'n' cannot be longer than 1000 bytes"
    ]


def test_identifier_rules():
    assert limits.check_identifier(42) == "42"
    assert limits.check_identifier("  a ") == "a"
    assert messages(limits.check_identifier, "") == ["id attribute must be present"]
    assert messages(limits.check_identifier, True) == ["id must be a string"]
    assert messages(limits.check_identifier, "x" * 151) == ["id cannot be longer than 150 bytes"]


def test_timestamps():
    assert limits.check_timestamp(None) is None
    assert limits.check_timestamp(1.9) == 1
    assert limits.check_timestamp("1700000000") == 1_700_000_000
    for bad in (True, -1, "soon", 10**13):
        assert messages(limits.check_timestamp, bad) == ["timestamp must be a unix timestamp in seconds"]


def test_parse_json_object():
    assert limits.parse_json_object(None, limit=10) == {}
    assert limits.parse_json_object(b"", limit=10) == {}
    assert limits.parse_json_object('{"a":1}', limit=10) == {"a": 1}

    def parse(raw, limit):
        return limits.parse_json_object(raw, limit=limit)

    assert messages(parse, '{"a":"long"}', 5) == ["request body cannot be longer than 5 bytes"]
    assert messages(parse, "Infinity", 50)[0].startswith("request body is not valid JSON")


def test_numbers_dynamodb_cannot_store_are_refused_up_front():
    assert not limits.unstorable({"a": [1, 2.5, 10**50, 0, True]})
    for bad in (10**126, 12345678901234567890123456789012345678901, 1e200, 1e-200):
        assert limits.unstorable({"nested": [bad]})
        assert messages(limits.check_attributes, {"n": bad}) == [
            "value for attribute 'n' must be a number DynamoDB can store "
            "(at most 38 significant digits, magnitude 1e-130 to 1e126)"
        ]
    assert messages(limits.check_event_data, {"x": {"y": 1e300}})[0].startswith("event data numbers must")

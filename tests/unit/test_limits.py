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


def _parse_messages(raw, limit=1_000_000):
    return messages(lambda r: limits.parse_json_object(r, limit=limit), raw)


def test_nesting_is_bounded_before_parsing():
    at_limit = '{"a":' * 31 + "[1]" + "}" * 31
    assert limits.json_depth(at_limit) == limits.MAX_JSON_DEPTH == 32
    assert limits.parse_json_object(at_limit, limit=1000)["a"]
    # About 1,000 levels is a few KB, well under every size limit, and used to raise RecursionError.
    for deep in ("[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000, "[" * 100_000):
        assert _parse_messages(deep) == ["request body cannot be nested more than 32 levels deep"]


def test_brackets_inside_strings_do_not_count_as_nesting():
    text = '{"a": "' + "[{" * 100 + '\\"[", "b": ["]]]]"]}'
    assert limits.json_depth(text) == 2
    assert limits.parse_json_object(text, limit=10_000)["b"] == ["]]]]"]


def test_a_body_must_be_utf8():
    assert limits.parse_json_object('{"a":"é"}'.encode(), limit=100) == {"a": "é"}
    for raw in (b'{"a":"\xff"}', '{"a":"é"}'.encode("utf-16"), '{"a":"\ud800"}'):
        assert _parse_messages(raw) == ["request body must be valid UTF-8"]


def test_an_escaped_lone_surrogate_is_not_utf8_but_an_escaped_pair_is_a_character():
    assert limits.parse_json_object('{"a":"\\ud83d\\ude00"}', limit=100) == {"a": "😀"}
    assert limits.parse_json_object('{"a":"\\\\ud800"}', limit=100) == {"a": "\\ud800"}
    for raw in ('{"a":"\\ud800"}', '{"\\udfff":1}', '{"a":["x\\uDBFFy"]}'):
        assert _parse_messages(raw) == ["request body must be valid UTF-8"]


def test_a_number_too_big_for_a_float_is_not_valid_json():
    [message] = _parse_messages('{"a":1e999}')
    assert message == "request body is not valid JSON: number 1e999 is out of range"


def test_a_body_must_be_an_object():
    for raw in ("[]", "1", '"text"', "null"):
        assert _parse_messages(raw) == ["request body must be a JSON object"]


def test_a_page_limit_is_ascii_digits_in_range():
    assert limits.page_limit(None, default=50, maximum=1000) == 50
    assert limits.page_limit("1000", default=50, maximum=1000) == 1000
    for bad in ("²", "١٢", "0", "1001", "-1", "", " 5", "5.0"):
        assert messages(lambda raw: limits.page_limit(raw, default=50, maximum=1000), bad) == [
            "limit must be between 1 and 1000"
        ]

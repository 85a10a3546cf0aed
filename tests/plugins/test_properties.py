import math

import pytest

from plugins.models import PropertyOrigin
from plugins.properties import (
    PROPERTY_TYPES,
    PropertyValueError,
    default_value,
    validate_property_value,
)


def test_the_allowed_types_and_origins_follow_the_mediarithmics_conventions():
    assert PROPERTY_TYPES == (
        "STRING",
        "PIXEL_TAG",
        "INT",
        "DOUBLE",
        "BOOLEAN",
        "URL",
        "DATA_FILE",
        "ASSET",
        "ASSET_FILE",
        "ASSET_FOLDER",
    )
    assert PropertyOrigin.values == ["PLUGIN_STATIC", "PLUGIN", "INSTANCE"]


@pytest.mark.parametrize(
    ("property_type", "value", "expected"),
    [
        ("STRING", {"value": "hello"}, {"value": "hello"}),
        ("STRING", {"value": ""}, {"value": ""}),
        ("STRING", {"value": None}, {"value": None}),
        ("PIXEL_TAG", {"value": "<img src='x'>"}, {"value": "<img src='x'>"}),
        ("INT", {"value": 42}, {"value": 42}),
        ("INT", {"value": -3.0}, {"value": -3}),
        ("INT", {"value": None}, {"value": None}),
        ("INT", {"value": 2**63 - 1}, {"value": 2**63 - 1}),
        ("DOUBLE", {"value": 1.5}, {"value": 1.5}),
        ("DOUBLE", {"value": 2}, {"value": 2}),
        ("BOOLEAN", {"value": False}, {"value": False}),
        ("URL", {"url": "https://example.com/a?b=c"}, {"url": "https://example.com/a?b=c"}),
        ("URL", {"url": "http://localhost:8080"}, {"url": "http://localhost:8080"}),
        ("URL", {"url": ""}, {"url": ""}),
        ("URL", {"url": None}, {"url": None}),
        (
            "DATA_FILE",
            {"uri": "mics://data_file/tenants/1/x.json", "last_modified": 1700000000000},
            {"uri": "mics://data_file/tenants/1/x.json", "last_modified": 1700000000000},
        ),
        (
            "ASSET",
            {"original_file_name": "logo.png", "asset_id": "12", "file_path": "/1/logo.png"},
            {"original_file_name": "logo.png", "asset_id": "12", "file_path": "/1/logo.png"},
        ),
        (
            "ASSET_FOLDER",
            {"original_name": "creatives", "asset_id": "7", "path": "/1/creatives"},
            {"original_name": "creatives", "asset_id": "7", "path": "/1/creatives"},
        ),
    ],
)
def test_a_value_of_the_right_shape_is_returned_normalised(property_type, value, expected):
    assert validate_property_value(property_type, value) == expected


@pytest.mark.parametrize(
    ("property_type", "value", "expected"),
    [
        ("STRING", {}, {"value": None}),
        ("DATA_FILE", {"uri": "mics://x"}, {"uri": "mics://x", "last_modified": None}),
        ("ASSET_FILE", {"asset_id": "3"}, {"original_file_name": None, "asset_id": "3", "file_path": None}),
        ("ASSET_FOLDER", {}, {"original_name": None, "asset_id": None, "path": None}),
    ],
)
def test_missing_keys_default_to_none(property_type, value, expected):
    assert validate_property_value(property_type, value) == expected


def test_an_unexpected_key_is_refused_with_the_expected_shape_in_the_message():
    with pytest.raises(PropertyValueError) as excinfo:
        validate_property_value("INT", {"value": 1, "x": 2})
    assert str(excinfo.value) == "unexpected key 'x' for INT; expected {\"value\": <integer>}"


@pytest.mark.parametrize("value", [None, "5", 5, [1], True])
def test_a_value_that_is_not_a_json_object_is_refused(value):
    with pytest.raises(PropertyValueError, match=r"must be a JSON object.*for INT"):
        validate_property_value("INT", value)


def test_an_unknown_property_type_lists_the_allowed_types():
    with pytest.raises(PropertyValueError) as excinfo:
        validate_property_value("FLOAT", {"value": 1.0})
    message = str(excinfo.value)
    assert "'FLOAT'" in message
    assert all(property_type in message for property_type in PROPERTY_TYPES)


@pytest.mark.parametrize(
    ("property_type", "value", "match"),
    [
        ("STRING", {"value": 3}, "must be a string"),
        ("PIXEL_TAG", {"value": ["a"]}, "must be a string"),
        ("INT", {"value": True}, "not a boolean"),
        ("INT", {"value": 1.5}, "must be an integer"),
        ("INT", {"value": "3"}, "must be an integer"),
        ("INT", {"value": math.inf}, "must be an integer"),
        ("INT", {"value": 2**63}, "64-bit"),
        ("INT", {"value": -(2**63) - 1}, "64-bit"),
        ("DOUBLE", {"value": False}, "must be a number"),
        ("DOUBLE", {"value": "1.5"}, "must be a number"),
        ("DOUBLE", {"value": math.nan}, "finite"),
        ("DOUBLE", {"value": -math.inf}, "finite"),
        ("BOOLEAN", {"value": 1}, "must be a boolean"),
        ("BOOLEAN", {"value": "true"}, "must be a boolean"),
        ("URL", {"url": "ftp://example.com"}, "http or https"),
        ("URL", {"url": "javascript:alert(1)"}, "http or https"),
        ("URL", {"url": "https://"}, "http or https"),
        ("URL", {"url": "example.com"}, "http or https"),
        ("URL", {"url": "https://exa mple.com"}, "whitespace"),
        ("URL", {"value": "https://example.com"}, "unexpected key 'value'"),
        ("DATA_FILE", {"uri": "mics://x", "last_modified": "yesterday"}, "must be an integer"),
        ("DATA_FILE", {"uri": "mics://x", "last_modified": -1}, "epoch milliseconds"),
        ("ASSET", {"asset_id": 12}, "must be a string"),
        ("ASSET_FOLDER", {"file_path": "/x"}, "unexpected key 'file_path'"),
    ],
)
def test_a_value_of_the_wrong_shape_is_refused_naming_the_type(property_type, value, match):
    with pytest.raises(PropertyValueError, match=match) as excinfo:
        validate_property_value(property_type, value)
    assert f"for {property_type}; expected {{" in str(excinfo.value)


def test_strings_longer_than_ten_thousand_characters_are_refused():
    assert validate_property_value("STRING", {"value": "a" * 10_000}) == {"value": "a" * 10_000}
    with pytest.raises(PropertyValueError, match="longer than 10000"):
        validate_property_value("STRING", {"value": "a" * 10_001})
    with pytest.raises(PropertyValueError, match="longer than 10000"):
        validate_property_value("URL", {"url": "https://example.com/" + "a" * 10_000})


def test_the_input_dict_is_not_modified():
    value = {"uri": "mics://x"}
    validate_property_value("DATA_FILE", value)
    assert value == {"uri": "mics://x"}


@pytest.mark.parametrize(
    ("property_type", "expected"),
    [
        ("STRING", {"value": None}),
        ("INT", {"value": None}),
        ("URL", {"url": None}),
        ("DATA_FILE", {"uri": None, "last_modified": None}),
        ("ASSET", {"original_file_name": None, "asset_id": None, "file_path": None}),
        ("ASSET_FOLDER", {"original_name": None, "asset_id": None, "path": None}),
    ],
)
def test_the_default_value_is_the_empty_shape(property_type, expected):
    assert default_value(property_type) == expected


def test_every_default_value_is_itself_valid():
    for property_type in PROPERTY_TYPES:
        assert validate_property_value(property_type, default_value(property_type)) == default_value(property_type)


def test_the_default_value_of_an_unknown_type_is_refused():
    with pytest.raises(PropertyValueError, match="unknown property type"):
        default_value("NOPE")

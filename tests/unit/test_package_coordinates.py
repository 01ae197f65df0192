"""Maven coordinates, module ids and the Scala client's ivy:// URIs: parsed or refused."""

from __future__ import annotations

import pytest

from sparkpush.errors import PackageError
from sparkpush.packages.coordinates import (
    Coordinate,
    ModuleId,
    jar_file_name,
    parse_coordinate,
    parse_ivy_uri,
    parse_module,
    parse_requested,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("org.postgresql:postgresql:42.5.5", Coordinate("org.postgresql", "postgresql", "42.5.5")),
        (" com.example:lib:1.0:tests ", Coordinate("com.example", "lib", "1.0", "tests")),
        ("io.delta:delta-spark_2.13:4.0.0", Coordinate("io.delta", "delta-spark_2.13", "4.0.0")),
        ("g:a:[1.0,2.0)", Coordinate("g", "a", "[1.0,2.0)")),
        ("g:a:1.+", Coordinate("g", "a", "1.+")),
    ],
)
def test_coordinates_parse(text: str, expected: Coordinate) -> None:
    assert parse_coordinate(text, "packages.coordinates") == expected


@pytest.mark.parametrize(
    "text",
    [
        "org.postgresql:postgresql",
        "org.postgresql",
        "a:b:c:d:e",
        "a::1.0",
        ":a:1.0",
        "a:b:",
        "../etc:passwd:1",
        "g:a/../../x:1.0",
        "g:a:1.0 --oops",
        "g:a:${user.home}",
        "g:a:1.0:<x>",
        "-g:a:1.0",
        "",
    ],
)
def test_bad_coordinates_are_one_line_naming_the_setting(text: str) -> None:
    with pytest.raises(PackageError) as raised:
        parse_coordinate(text, "packages.coordinates")
    assert raised.value.message.startswith("packages.coordinates: ")
    assert "\n" not in raised.value.message
    assert raised.value.exit_code == 2


def test_coordinate_text_round_trips() -> None:
    for text in ("g:a:1.0", "g:a:1.0:sources"):
        assert str(parse_coordinate(text, "x")) == text


def test_module_ids_allow_a_whole_part_wildcard() -> None:
    assert parse_module("org.slf4j:slf4j-api", "packages.exclude") == ModuleId(
        "org.slf4j", "slf4j-api"
    )
    assert parse_module("*:scala-library", "x").matches("org.scala-lang", "scala-library")
    assert not ModuleId("a", "b").matches("a", "c")
    for bad in ("org.slf4j", "a:b:c", "a*:b", "a:"):
        with pytest.raises(PackageError):
            parse_module(bad, "packages.exclude")


def test_ivy_uri_with_transitive_and_excludes() -> None:
    found = parse_ivy_uri(
        "ivy://com.example:lib:1.0?transitive=false&exclude=org.slf4j:slf4j-api,com.x:y",
        "artifacts.jars",
    )
    assert found == Coordinate(
        "com.example",
        "lib",
        "1.0",
        transitive=False,
        exclusions=(ModuleId("org.slf4j", "slf4j-api"), ModuleId("com.x", "y")),
    )
    assert parse_ivy_uri("ivy://g:a:1.0", "x").transitive
    assert parse_requested("ivy://g:a:1.0?transitive=true", "x") == Coordinate("g", "a", "1.0")
    assert parse_requested("g:a:1.0", "x") == Coordinate("g", "a", "1.0")


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("ivy://g:a:1.0?repos=https://evil.example/m2", "packages.repositories"),
        ("ivy://g:a:1.0?transitive=maybe", "transitive must be true or false"),
        ("ivy://g:a:1.0?color=red", "unknown parameter 'color'"),
        ("ivy://g:a", "not a Maven coordinate"),
        ("ivy://g:a:1.0/path", "not ivy://"),
        ("ivy://g:a:1.0#frag", "not ivy://"),
        ("ivy://g:a:1.0?exclude=nope", "not group:artifact"),
    ],
)
def test_bad_ivy_uris(uri: str, says: str) -> None:
    with pytest.raises(PackageError) as raised:
        parse_ivy_uri(uri, "artifacts.jars")
    assert says in raised.value.message


def test_jar_names_follow_spark_submit() -> None:
    assert jar_file_name("org.postgresql", "postgresql", "42.5.5", None) == (
        "org.postgresql_postgresql-42.5.5.jar"
    )
    assert jar_file_name("g", "a", "1.0", "tests") == "g_a-1.0-tests.jar"

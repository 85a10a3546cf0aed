"""An entry point is parsed as a callable or a command line, then resolved against the archive's files."""

import pytest

from plugins.archives import ArchiveError
from plugins.entry_points import EntryPoint, Launch, parse_entry_point, resolve_entry_point


@pytest.mark.parametrize(
    ("text", "module", "function"),
    [
        ("package.module:function", "package.module", "function"),
        ("main:run", "main", "run"),
        ("  plugin.handlers.v2:Handler  ", "plugin.handlers.v2", "Handler"),
    ],
)
def test_a_module_colon_function_entry_point_is_a_callable(text, module, function):
    assert parse_entry_point(text) == EntryPoint(kind="callable", module=module, function=function, argv=[])


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("python main.py --flag", ["python", "main.py", "--flag"]),
        ("main.py", ["main.py"]),
        ("./run.sh --name 'two words' \"x y\"", ["./run.sh", "--name", "two words", "x y"]),
        ("python -m plugin.main --at 12:00", ["python", "-m", "plugin.main", "--at", "12:00"]),
    ],
)
def test_anything_else_is_a_command_line(text, argv):
    assert parse_entry_point(text) == EntryPoint(kind="command", module=None, function=None, argv=argv)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("python " + "x" * 500, "longer than 500"),
        ("python main.py\x00", "NUL or line break"),
        ("python main.py\nrm -rf /", "NUL or line break"),
        ("python main.py\r", "NUL or line break"),
        ("python 'main.py", "not a valid command line"),
        ('python "main.py', "not a valid command line"),
        ("''", "no command to run"),
        ("pkg.mod:func:extra", "package.module:function"),
        ("my-plugin:run", "package.module:function"),
        ("pkg.:run", "package.module:function"),
        ("pkg.mod:", "package.module:function"),
        (":run", "package.module:function"),
        ("class:run", "package.module:function"),
    ],
)
def test_an_invalid_entry_point_is_refused(text, match):
    with pytest.raises(ArchiveError, match=match) as excinfo:
        parse_entry_point(text)
    assert excinfo.value.code == "ENTRY_POINT_INVALID"


# Entry points resolved against the archive's files


@pytest.mark.parametrize(
    ("text", "members", "launch"),
    [
        ("main:run", ["main.py"], Launch(kind="callable", target="main:run", argv=[])),
        (
            "pkg.jobs:run",
            ["pkg/", "pkg/__init__.py", "pkg/jobs.py"],
            Launch(kind="callable", target="pkg.jobs:run", argv=[]),
        ),
        ("main", ["main.py"], Launch(kind="module", target="main", argv=[])),
        ("pkg", ["pkg/", "pkg/__init__.py", "pkg/__main__.py"], Launch(kind="module", target="pkg", argv=[])),
        ("main.py", ["main.py"], Launch(kind="path", target="main.py", argv=[])),
        ("__main__.py", ["__main__.py"], Launch(kind="path", target="__main__.py", argv=[])),
        (".", ["__main__.py"], Launch(kind="path", target=".", argv=[])),
        ("run.sh", ["run.sh"], Launch(kind="executable", target="run.sh", argv=["run.sh"])),
        (
            "./bin/run --fast",
            ["bin/", "bin/run"],
            Launch(kind="executable", target="bin/run", argv=["bin/run", "--fast"]),
        ),
        ("python main.py", ["main.py"], Launch(kind="command", target="", argv=["python", "main.py"])),
        ("node index.js", ["index.js"], Launch(kind="command", target="", argv=["node", "index.js"])),
    ],
)
def test_an_entry_point_resolves_to_what_the_archive_holds(text, members, launch):
    assert resolve_entry_point(text, members) == launch


@pytest.mark.parametrize(
    ("text", "members", "match"),
    [
        ("main:run", ["other.py"], "the module main"),
        ("main", ["other.py"], "the module or file main"),
        ("run.sh", ["main.py"], "the module or file run.sh"),
        ("./run.sh", ["main.py"], "the file ./run.sh"),
        ("tools", ["tools/", "tools/a.py"], "__main__.py"),
    ],
)
def test_an_entry_point_naming_nothing_in_the_archive_is_refused(text, members, match):
    with pytest.raises(ArchiveError, match=match) as excinfo:
        resolve_entry_point(text, members)
    assert excinfo.value.code == "ENTRY_POINT_NOT_IN_ARCHIVE"

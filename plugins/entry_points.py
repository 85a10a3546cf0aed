"""An archive's entry point: parsing what a version declares (`main:run`, `main.py`, `run.sh`,
`python main.py`, ...) and resolving it against the archive's files into how the runner starts it.

Refusals are ArchiveErrors, as for the archive itself: the upload answers them the same way.
"""

import keyword
import shlex
from dataclasses import dataclass

from plugins.archives import ArchiveError, normalise

MAX_ENTRY_POINT_LENGTH = 500


@dataclass(frozen=True)
class EntryPoint:
    kind: str  # "callable" or "command"
    module: str | None
    function: str | None
    argv: list[str]


def _identifier(part: str) -> bool:
    return part.isidentifier() and part.isascii() and not keyword.iskeyword(part)


def parse_entry_point(text: str) -> EntryPoint:
    def invalid(reason: str) -> ArchiveError:
        return ArchiveError(f"entry point {text!r} {reason}", "ENTRY_POINT_INVALID")

    if not isinstance(text, str) or not text.strip():
        raise ArchiveError("the entry point is empty", "ENTRY_POINT_INVALID")
    if len(text) > MAX_ENTRY_POINT_LENGTH:
        raise ArchiveError(f"the entry point is longer than {MAX_ENTRY_POINT_LENGTH} characters", "ENTRY_POINT_INVALID")
    if "\x00" in text or "\n" in text or "\r" in text:
        raise invalid("contains a NUL or line break character")
    text = text.strip()
    if ":" in text and not any(ch.isspace() for ch in text):
        module, _, function = text.partition(":")
        if ":" in function or not all(_identifier(part) for part in [*module.split("."), function]):
            # Without spaces and with a colon this can only be a mistyped callable, not a command line.
            raise invalid("is not of the form package.module:function (dotted Python identifiers)")
        return EntryPoint(kind="callable", module=module, function=function, argv=[])
    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise invalid(f"is not a valid command line: {exc}") from None
    if not argv or not argv[0]:
        raise invalid("has no command to run")
    return EntryPoint(kind="command", module=None, function=None, argv=argv)


@dataclass(frozen=True)
class Launch:
    """How the runner starts an entry point, once the archive's files are known.

    kind: "callable" (module:function, called with the context), "module" (a module run as a script),
    "path" (a .py file or a folder with __main__.py, run as a script), "executable" (a file of the
    archive, any language), "command" (a command line such as `python main.py` or `node index.js`).
    """

    kind: str
    target: str
    argv: list[str]


PYTHON_COMMANDS = ("python", "python3")


def _module_in_archive(module: str, files: set[str]) -> bool:
    path = module.replace(".", "/")
    return f"{path}.py" in files or f"{path}/__init__.py" in files


def resolve_entry_point(text: str, members) -> Launch:  # noqa: PLR0911 - one return per kind of entry point
    """Which kind of entry point `text` is for an archive holding `members` (files, and folders ending in /)."""
    entry = parse_entry_point(text)
    files = {member for member in members if not member.endswith("/")}

    def missing(what: str) -> ArchiveError:
        return ArchiveError(
            f"entry point {text.strip()!r} names {what}, which the archive does not contain",
            "ENTRY_POINT_NOT_IN_ARCHIVE",
        )

    if entry.kind == "callable":
        if not _module_in_archive(entry.module, files):
            raise missing(f"the module {entry.module}")
        return Launch(kind="callable", target=f"{entry.module}:{entry.function}", argv=[])
    first = entry.argv[0]
    relative = normalise(first)
    if first in PYTHON_COMMANDS:
        return Launch(kind="command", target="", argv=entry.argv)
    if relative in files:
        if relative.endswith(".py") and len(entry.argv) == 1:
            return Launch(kind="path", target=relative, argv=[])
        return Launch(kind="executable", target=relative, argv=[relative, *entry.argv[1:]])
    packaged = f"{relative}/__init__.py" in files and all(_identifier(part) for part in relative.split("/"))
    if (relative in ("", ".") or f"{relative}/" in members) and not packaged:
        main = f"{relative}/__main__.py" if relative not in ("", ".") else "__main__.py"
        if main not in files:
            raise missing(f"a folder without __main__.py ({main})")
        return Launch(kind="path", target=relative or ".", argv=[])
    if len(entry.argv) == 1 and all(_identifier(part) for part in first.split(".")):
        if _module_in_archive(first, files):
            return Launch(kind="module", target=first, argv=[])
        if f"{first.replace('.', '/')}/__main__.py" in files:
            return Launch(kind="module", target=first, argv=[])
        raise missing(f"the module or file {first}")
    if "/" in first or first.startswith("."):
        raise missing(f"the file {first}")
    # A command of the system (bash, node, ...) given its arguments.
    return Launch(kind="command", target="", argv=entry.argv)

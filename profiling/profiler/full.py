# SQL is assembled here by design: every column name goes through _identifier, every value
# through _literal, table names are ours (m0, m1, ...).
# ruff: noqa: S608
"""The full profile: every row of every member, computed by duckdb in bounded memory.

Members are copied out of the zip one at a time into a temporary folder (never all at once),
loaded as text into a file-backed duckdb database (so past `memory_limit` it spills to disk),
then described with a few column-wise passes. Everything is read as VARCHAR and typed here:
zip codes and ids with leading zeros stay text, `7/7/2017` is a date `M/D/YYYY`
(PITFALLS.md: pandas and polars lose the zeros and miss the dates).

Entry point: full_profile(zip_source, limits=...) -> dict. Django-free, for the worker and the bench.
"""

import datetime
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass

import duckdb

from profiling.profiler.limits import ProfileLimits
from profiling.profiler.nodes import RELATIONS
from profiling.profiler.preliminary import describe_member
from profiling.profiler.zipcheck import check_zip, open_zip

ENGINE_ENCODINGS = {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16-le": "utf-16", "utf-16-be": "utf-16"}
DELIMITER_CHARACTERS = {"comma": ",", "pipe": "|", "tab": "\t", "semicolon": ";"}
# duckdb strptime formats, tried on text columns; the first that reads every value wins.
DATE_FORMATS = (
    ("%m/%d/%Y", "M/D/YYYY"),
    ("%Y-%m-%d", "YYYY-MM-DD"),
    ("%m-%d-%Y", "M-D-YYYY"),
    ("%d/%m/%Y", "D/M/YYYY"),
    ("%m/%d/%y", "M/D/YY"),
    ("%Y/%m/%d", "YYYY/MM/DD"),
)
MALFORMED_KINDS = {
    "TOO MANY COLUMNS": "wrong field count",
    "MISSING COLUMNS": "wrong field count",
    "UNQUOTED VALUE": "bad quoting",
    "INVALID STATE": "bad quoting",
    "INVALID ENCODING": "bad encoding",
    "LINE SIZE OVER MAXIMUM": "line too long",
}
FLAG_VALUES = ("Y", "N")
# Up to this many distinct values (approximately), one exact histogram counts them all.
FEW_DISTINCT = 1000
# A column with more distinct values than this share of its filled rows has no top values to show.
NEARLY_UNIQUE = 0.5
# Rows the type of each column is guessed on before it is verified on all of them.
SAMPLE_ROWS = 2000
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Python's strptime twins of DATE_FORMATS, for the guess.
_DATE_PATTERNS = tuple((pattern, pattern) for pattern, _ in DATE_FORMATS)
# Rows kept by duckdb's reject table per member; beyond it the count says "at least".
REJECTS_KEPT = 10_000


class ProfileFailed(Exception):
    """The zip passed its checks but could not be profiled; the message is the reason shown."""


@dataclass
class _Loaded:
    table: str
    description: dict
    columns: list[str]
    rows: int


def full_profile(zip_source, *, limits: ProfileLimits | None = None, work_dir: str | None = None) -> dict:
    """The full profile of a zip (a path or a seekable binary file).

    Raises zipcheck.ZipRejected when the zip breaks a rule, ProfileFailed when a member cannot be read."""
    limits = limits or ProfileLimits()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="profile-", dir=work_dir) as scratch, open_zip(zip_source) as archive:
        members = check_zip(archive, limits)
        connection = _connect(scratch, limits)
        try:
            loaded = []
            for index, member in enumerate(members):
                description = describe_member(archive, member, limits)
                path = os.path.join(scratch, f"member-{index}")
                with archive.open(member.name) as source, open(path, "wb") as target:
                    shutil.copyfileobj(source, target, 1024 * 1024)
                try:
                    loaded.append(_load(connection, f"m{index}", path, description, limits))
                finally:
                    os.unlink(path)  # one member on disk at a time
            described = [_describe(connection, member, limits) for member in loaded]
            checks = _cross_member_checks(connection, loaded, limits)
        except duckdb.Error as error:
            raise ProfileFailed(f"could not read the batch: {str(error).splitlines()[0][:300]}") from error
        finally:
            connection.close()
    return {
        "kind": "full",
        "engine": f"duckdb {duckdb.__version__}",
        "format": members[0].format,
        "memberCount": len(members),
        "compressedSize": sum(member.compressed_size for member in members),
        "uncompressedSize": sum(member.uncompressed_size for member in members),
        "rowCount": sum(member["rowCount"] for member in described),
        "members": described,
        "crossMemberChecks": checks,
        "seconds": round(time.monotonic() - started, 3),
    }


def _connect(scratch: str, limits: ProfileLimits):
    # In memory with a limit: past memory_limit duckdb evicts blocks to temp_directory. (A
    # database file was four times slower to load: it writes every block at the checkpoint.)
    connection = duckdb.connect(":memory:")
    connection.execute(f"SET memory_limit = '{_plain(limits.memory_limit)}'")
    connection.execute(f"SET threads = {int(limits.threads)}")
    connection.execute(f"SET temp_directory = '{_plain(os.path.join(scratch, 'spill'))}'")
    connection.execute("SET preserve_insertion_order = false")
    connection.execute("SET enable_progress_bar = false")
    return connection


def _load(connection, table: str, path: str, description: dict, limits: ProfileLimits) -> _Loaded:
    columns = _unique(description["header"] or [f"column{i + 1}" for i in range(description["columnCount"])])
    if not columns:
        return _Loaded(table, description, [], 0)
    types = ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in columns)
    delimiter = DELIMITER_CHARACTERS.get(description["delimiter"], description["delimiter"])
    encoding = ENGINE_ENCODINGS.get(description["encoding"], "latin-1")
    # The header we read is passed in: duckdb's sniffer gives up on a small file with bad rows.
    connection.execute(
        f"""CREATE TABLE {table} AS SELECT * FROM read_csv({_literal(path)},
            auto_detect = false, columns = {{{types}}}, header = {str(description["hasHeader"]).lower()},
            delim = {_literal(delimiter)}, quote = '"', escape = '"', encoding = {_literal(encoding)},
            ignore_errors = true, store_rejects = true, rejects_table = '{table}_rejects',
            rejects_scan = '{table}_scans', rejects_limit = {REJECTS_KEPT})"""
    )
    rows = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return _Loaded(table, description, columns, rows)


def _describe(connection, loaded: _Loaded, limits: ProfileLimits) -> dict:
    malformed, malformed_count = _malformed(connection, loaded.table, limits)
    columns = _columns(connection, loaded, limits) if loaded.columns else []
    description = {key: value for key, value in loaded.description.items() if key not in ("rowEstimate",)}
    description.pop("rowEstimateExact", None)
    return {
        **description,
        "rowCount": loaded.rows + malformed_count,
        "wellFormedRowCount": loaded.rows,
        "malformedRowCount": malformed_count,
        "malformedRowCountExact": malformed_count < REJECTS_KEPT,
        "malformedRows": malformed,
        "malformedRowsCapped": malformed_count > len(malformed),
        "columns": columns,
    }


def _malformed(connection, table: str, limits: ProfileLimits) -> tuple[list[dict], int]:
    exists = connection.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [f"{table}_rejects"]
    ).fetchone()[0]
    if not exists:
        return [], 0
    # One line can be rejected for several reasons; it is one malformed row.
    count = connection.execute(f"SELECT count(DISTINCT line) FROM {table}_rejects").fetchone()[0]
    rows = connection.execute(
        f"""SELECT line, first(error_type::VARCHAR ORDER BY column_idx), first(error_message ORDER BY column_idx),
                   first(csv_line)
            FROM {table}_rejects GROUP BY line ORDER BY line LIMIT {int(limits.malformed_rows_cap)}"""
    ).fetchall()
    return [
        {
            "line": line,
            "problem": MALFORMED_KINDS.get(kind, kind.lower()),
            "message": message,
            "text": (text or "")[:500],
        }
        for line, kind, message, text in rows
    ], count


def _columns(connection, loaded: _Loaded, limits: ProfileLimits) -> list[dict]:
    table, rows = loaded.table, loaded.rows
    names = [_identifier(name) for name in loaded.columns]
    # A type is guessed on a sample, then verified on every row with one check per column (a
    # failed check falls back to text): four casts of every cell cost more than the load itself.
    sample = connection.execute(f"SELECT * FROM {table} LIMIT {SAMPLE_ROWS}").fetchall()
    guesses = [_guess_type([row[index] for row in sample if row[index] is not None]) for index in range(len(names))]
    aggregates = []
    for column, (kind, pattern, _) in zip(names, guesses, strict=True):
        aggregates += [
            f"count({column})",
            f"approx_count_distinct({column})",
            _verification(column, kind, pattern),
            f"count(*) FILTER (WHERE starts_with({column}, '0') AND length({column}) > 1)"
            if kind == "integer"
            else "0",
        ]
    first = _aggregate(connection, table, aggregates)
    stats = []
    for index, name in enumerate(loaded.columns):
        filled, approx_distinct, verified, leading_zeros = first[index * 4 : index * 4 + 4]
        kind, pattern, strict = guesses[index]
        # How many values read as another type than the column's (a submission's check reads it).
        matches = {}
        if filled == 0:
            kind, pattern = "empty", None
        elif not strict or verified != filled or (kind == "integer" and leading_zeros):
            # 01234 is a zip code or an id, not the number 1234.
            matches = {kind: verified} if kind != "text" else {}
            kind, pattern = "text", None
        stats.append(
            {
                "name": name,
                "type": kind,
                "strptime": pattern,
                "dateFormat": _date_label(pattern, sample, index) if kind == "date" else None,
                "filled": filled,
                "leadingZeros": leading_zeros,
                "approxDistinct": approx_distinct,
                "typeMatches": matches,
            }
        )
    _typed_statistics(connection, table, names, stats, limits)
    _top_values(connection, table, names, stats, limits)
    _histograms(connection, table, names, stats, limits)
    samples = _samples(connection, table, names, limits)
    return [
        {
            "name": stat["name"],
            "type": stat["type"],
            "dateFormat": stat["dateFormat"],
            "nullCount": rows - stat["filled"],
            "fillRate": round(stat["filled"] / rows, 4) if rows else 0.0,
            "distinctCount": stat["distinct"],
            "distinctExact": stat["distinctExact"],
            "min": stat.get("min"),
            "max": stat.get("max"),
            "mean": stat.get("mean"),
            "minLength": stat.get("minLength"),
            "maxLength": stat.get("maxLength"),
            "leadingZeros": stat["leadingZeros"] > 0,
            "topValues": stat["topValues"],
            "histogram": stat.get("histogram", []),
            "samples": samples[index],
            "typeMatches": stat["typeMatches"],
        }
        for index, stat in enumerate(stats)
    ]


def _guess_type(values: list[str]) -> tuple[str, str | None, bool]:
    """(kind, strptime pattern, strict): the first kind every sampled value has (strict), else the
    kind most of them have (verified on every row, so its count of matches is known), else text."""
    if not values:
        return "text", None, True
    candidates = [
        ("integer", None, lambda value: bool(_INTEGER.fullmatch(value))),
        ("decimal", None, lambda value: bool(_DECIMAL.fullmatch(value))),
        ("flag", None, lambda value: value in FLAG_VALUES),
    ] + [
        ("date", pattern, lambda value, python_pattern=python_pattern: _parses(value, python_pattern))
        for pattern, python_pattern in _DATE_PATTERNS
    ]
    best, best_count = None, 0
    head, rest = values[:100], values[100:]
    for kind, pattern, test in candidates:
        head_count = sum(1 for value in head if test(value))
        if head_count * 5 < len(head) * 2:
            continue  # neither every value nor most of them: not worth testing the rest
        count = head_count + sum(1 for value in rest if test(value))
        if count == len(values):
            return kind, pattern, True
        if count > best_count:
            best, best_count = (kind, pattern), count
    if best is not None and best_count * 2 >= len(values):
        return best[0], best[1], False
    return "text", None, True


def _verification(column: str, kind: str, pattern: str | None) -> str:
    """An aggregate that counts the values of `column` that are of the guessed kind."""
    if kind == "integer":
        return f"count(*) FILTER (WHERE {_integer_text(column)})"
    if kind == "decimal":
        # duckdb reads 'inf' and 'nan' as numbers; a profile (and JSON) has no room for them.
        return f"count(*) FILTER (WHERE isfinite(try_cast({column} AS DOUBLE)))"
    if kind == "flag":
        return f"count(*) FILTER (WHERE {column} IN ('Y', 'N'))"
    if kind == "date":
        return f"count(try_strptime({column}, '{pattern}'))"
    return f"count({column})"


def _date_label(pattern: str, sample: list, index: int) -> str:
    label = dict(DATE_FORMATS)[pattern]
    values = [row[index] for row in sample if row[index] is not None]
    if label == "M/D/YYYY" and values and all(re.fullmatch(r"\d\d/\d\d/\d{4}", value) for value in values):
        return "MM/DD/YYYY"
    return label


def _parses(value: str, python_pattern: str) -> bool:
    try:
        datetime.datetime.strptime(value, python_pattern)  # noqa: DTZ007  (a date, no zone)
    except ValueError:
        return False
    return True


def _integer_text(column: str) -> str:
    return f"try_cast({column} AS BIGINT) IS NOT NULL AND NOT regexp_matches({column}, '[.eE]')"


def _typed(column: str, stat: dict) -> str:
    if stat["type"] == "integer":
        return f"try_cast({column} AS BIGINT)"
    if stat["type"] == "decimal":
        return f"try_cast({column} AS DOUBLE)"
    if stat["type"] == "date":
        return f"CAST(try_strptime({column}, '{stat['strptime']}') AS DATE)"
    return column


def _typed_statistics(connection, table: str, names: list[str], stats: list[dict], limits: ProfileLimits) -> None:
    """min/max/mean, exact distinct counts under the threshold, top values with exact counts.

    Few distinct values (flags, states): one exact histogram gives both the distinct count and
    the top values. A nearly unique column (ids, names) gets no top values: every count is ~1."""
    aggregates, layout = [], []
    for column, stat in zip(names, stats, strict=True):
        parts, how = _statistics_of(column, stat, limits)
        layout.append((len(parts), how))
        aggregates += parts
    if not aggregates:
        return
    values = _aggregate(connection, table, aggregates)
    position = 0
    for stat, (width, how) in zip(stats, layout, strict=True):
        _read_statistics(stat, list(values[position : position + width]), how, limits)
        position += width


def _statistics_of(column: str, stat: dict, limits: ProfileLimits) -> tuple[list[str], str]:
    value = _typed(column, stat)
    parts = [f"min({value})", f"max({value})"]
    if stat["type"] in ("integer", "decimal"):
        parts.append(f"avg({value})")
    if stat["type"] in ("text", "flag"):
        parts += [f"min(length({column}))", f"max(length({column}))"]
    if stat["approxDistinct"] <= FEW_DISTINCT:
        return parts, "histogram"  # counted by _top_values
    how = "exact" if stat["approxDistinct"] <= limits.exact_distinct_threshold else "approximate"
    if how == "exact":
        parts.append(f"count(DISTINCT {column})")
    return parts, how


def _read_statistics(stat: dict, chunk: list, how: str, limits: ProfileLimits) -> None:
    stat["min"], stat["max"] = _json_value(chunk.pop(0)), _json_value(chunk.pop(0))
    if stat["type"] in ("integer", "decimal"):
        mean = chunk.pop(0)
        stat["mean"] = round(mean, 6) if mean is not None else None
    if stat["type"] in ("text", "flag"):
        stat["minLength"], stat["maxLength"] = chunk.pop(0), chunk.pop(0)
    stat["how"] = how
    stat["topValues"] = []  # counted by _top_values, one column at a time
    if how != "histogram":
        stat["distinct"] = chunk.pop(0) if how == "exact" else stat["approxDistinct"]
        stat["distinctExact"] = how == "exact"


def _top_values(connection, table: str, names: list[str], stats: list[dict], limits: ProfileLimits) -> None:
    """Exact top values by grouping one column at a time (bounded by the exact-distinct
    threshold): far cheaper than a top-k sketch or a histogram aggregate over every column."""
    for column, stat in zip(names, stats, strict=True):
        if stat["how"] == "histogram":
            # Few values: grouping them all gives the exact distinct count and the top values.
            rows = connection.execute(
                f"SELECT {column}, count(*) AS n FROM {table} WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY n DESC, 1"
            ).fetchall()
            stat["distinct"], stat["distinctExact"] = len(rows), True
            stat["topValues"] = [{"value": value, "count": count} for value, count in rows[: limits.top_values]]
            continue
        if not stat["distinctExact"]:
            continue  # too many values to group
        if stat["approxDistinct"] > NEARLY_UNIQUE * stat["filled"]:
            continue  # every count is about one
        rows = connection.execute(
            f"SELECT {column}, count(*) AS n FROM {table} WHERE {column} IS NOT NULL GROUP BY 1"
            f" ORDER BY n DESC, 1 LIMIT {int(limits.top_values)}"
        ).fetchall()
        stat["topValues"] = [{"value": value, "count": count} for value, count in rows]


def _histograms(connection, table: str, names: list[str], stats: list[dict], limits: ProfileLimits) -> None:
    bins = int(limits.histogram_bins)
    aggregates, owners = [], []
    for column, stat in zip(names, stats, strict=True):
        if stat["type"] not in ("integer", "decimal", "date") or stat.get("min") is None:
            continue
        value = _typed(column, stat)
        if stat["type"] == "date":
            low = f"epoch_ms(DATE '{stat['min']}')"
            high = f"epoch_ms(DATE '{stat['max']}')"
            value = f"epoch_ms({value})"
        else:
            low, high = repr(float(stat["min"])), repr(float(stat["max"]))
        width = f"(({high} - {low}) / {bins})"
        index = f"least(CAST(floor(({value} - {low}) / nullif({width}, 0)) AS INTEGER), {bins - 1})"
        aggregates.append(f"histogram(coalesce({index}, 0)) FILTER (WHERE {value} IS NOT NULL)")
        owners.append(stat)
    if not aggregates:
        return
    for stat, counts in zip(owners, _aggregate(connection, table, aggregates), strict=True):
        stat["histogram"] = _bins(stat, counts or {}, bins)


def _bins(stat: dict, counts: dict, bins: int) -> list[dict]:
    if stat["type"] == "date":
        low = _epoch_days(stat["min"])
        high = _epoch_days(stat["max"])
    else:
        low, high = float(stat["min"]), float(stat["max"])
    width = (high - low) / bins
    if width == 0:
        return [{"from": stat["min"], "to": stat["max"], "count": sum(counts.values())}]
    out = []
    for index in range(bins):
        start, end = low + index * width, low + (index + 1) * width
        if stat["type"] == "date":
            start, end = _day_text(start), _day_text(end)
        else:
            start, end = round(start, 6), round(end, 6)
        out.append({"from": start, "to": end, "count": counts.get(index, 0)})
    return out


def _samples(connection, table: str, names: list[str], limits: ProfileLimits) -> list[list[str]]:
    rows = connection.execute(f"SELECT * FROM {table} USING SAMPLE reservoir(50 ROWS) REPEATABLE (7)").fetchall()
    samples = []
    for index in range(len(names)):
        seen = []
        for row in rows:
            value = row[index]
            if value is not None and value not in seen:
                seen.append(value[:100])
            if len(seen) >= limits.samples:
                break
        samples.append(seen)
    return samples


def _cross_member_checks(connection, loaded: list[_Loaded], limits: ProfileLimits) -> list[dict]:
    checks = []
    for relation in RELATIONS:
        children = [member for member in loaded if member.description["node"] == relation.child]
        parents = [member for member in loaded if member.description["node"] == relation.parent]
        if not children:
            continue
        check = {"check": relation.problem, "child": relation.child, "parent": relation.parent}
        if not parents:
            checks.append({**check, "status": "SKIPPED", "reason": f"the zip has no {relation.parent} file"})
            continue
        keys = [
            key
            for key in relation.keys
            if all(key in member.columns for member in children) and all(key in member.columns for member in parents)
        ]
        if relation.keys[0] not in keys:
            checks.append(
                {**check, "status": "SKIPPED", "reason": f"the files do not all have the column {relation.keys[0]}"}
            )
            continue
        selected = ", ".join(_identifier(key) for key in keys)
        parent_keys = " UNION ".join(f"SELECT DISTINCT {selected} FROM {member.table}" for member in parents)
        child_rows = " UNION ALL ".join(f"SELECT {selected} FROM {member.table}" for member in children)
        orphans = f"SELECT * FROM ({child_rows}) c WHERE NOT EXISTS (SELECT 1 FROM ({parent_keys}) p WHERE " + (
            " AND ".join(f"p.{_identifier(key)} IS NOT DISTINCT FROM c.{_identifier(key)}" for key in keys) + ")"
        )
        count = connection.execute(f"SELECT count(*) FROM ({orphans})").fetchone()[0]
        examples = connection.execute(
            f"SELECT DISTINCT * FROM ({orphans}) LIMIT {int(limits.malformed_rows_cap)}"
        ).fetchall()
        checks.append(
            {
                **check,
                "status": "PASSED" if count == 0 else "FOUND",
                "keys": keys,
                "count": count,
                "examples": [dict(zip(keys, example, strict=True)) for example in examples[:20]],
            }
        )
    return checks


def _aggregate(connection, table: str, aggregates: list[str]) -> tuple:
    return connection.execute(f"SELECT {', '.join(aggregates)} FROM {table}").fetchone()


def _unique(names: list[str]) -> list[str]:
    """A name that appears twice in a header gets a suffix (amount, amount_2): duckdb needs distinct columns."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name.lower()] = seen.get(name.lower(), 0) + 1
        unique.append(name if seen[name.lower()] == 1 else f"{name}_{seen[name.lower()]}")
    return unique


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _plain(text: str) -> str:
    if "'" in text:
        raise ValueError(f"quote in a duckdb setting: {text!r}")
    return text


def _json_value(value):
    if value is None or isinstance(value, int | float | str | bool):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _epoch_days(text: str) -> float:
    return float((datetime.date.fromisoformat(text) - datetime.date(1970, 1, 1)).days)


def _day_text(days: float) -> str:
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=int(days))).isoformat()

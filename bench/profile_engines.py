# ruff: noqa: S608 -- SQL text built from the member's own column names, in a benchmark
"""One engine profiling one zip batch, in its own process: `bench/profiling.py` runs this and reads
the child's peak memory (ru_maxrss) when it exits.

    python bench/profile_engines.py ENGINE BATCH.zip [--threshold 100000]

Prints one JSON object: seconds, rows per member and a digest of what the engine found (column
types, distinct counts, ...) so the runs can be compared for what they computed, not only for speed.

Engines:
- `ours`: `profiling.profiler.full.full_profile(zip)` (needs the project's .venv); `ours-isal`: the
  same with zipfile inflating through ISA-L (`pip install isal`, not a project dependency);
  `ours-patched`: ours with its SQL edited (BENCH_PATCH, see DEFAULT_PATCH), to measure a fix;
  `ours-preliminary`: the preliminary profile.
- `duckdb-metrics`, `polars-metrics`: the issue's metrics (row count, type per column, nulls, distinct
  exact under `--threshold` else approximate, min/max/mean, top 10 values with counts, 20-bin
  histograms of numbers and dates, rejected rows), each member copied out of the zip into a temporary
  file first (duckdb 2.0.1 hangs reading a named pipe: it opens the file twice, to sniff and to read).
- peers, as their users run them: `duckdb-summarize` (SUMMARIZE), `pandas-describe`
  (`read_csv` + `describe(include="all")`), `ydata-minimal` (ProfileReport(minimal=True)).
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = 10
BINS = 20
TEMP_ROOT = Path(os.environ.get("BENCH_TMPDIR", tempfile.gettempdir()))
DELIMITERS = {".csv": ",", ".txt": ",", ".psv": "|", ".tsv": "\t"}


@contextlib.contextmanager
def extracted(archive: zipfile.ZipFile, name: str):
    """One member copied to a temporary file, removed afterwards: one member on disk at a time."""
    folder = Path(tempfile.mkdtemp(prefix="bench-member-", dir=TEMP_ROOT))
    try:
        path = folder / Path(name).name
        with archive.open(name) as source, open(path, "wb") as target:
            shutil.copyfileobj(source, target, 4 << 20)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def members(zip_path: str) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return [info.filename for info in archive.infolist() if not info.is_dir()]


# --- duckdb: the metrics -----------------------------------------------------------------


def duckdb_metrics(zip_path: str, threshold: int) -> dict:
    import duckdb

    found = {}
    with zipfile.ZipFile(zip_path) as archive, tempfile.TemporaryDirectory(dir=TEMP_ROOT) as spill:
        # In memory, bounded: past memory_limit duckdb evicts blocks to temp_directory.
        con = duckdb.connect(":memory:")
        con.execute(f"SET memory_limit='256MB'; SET temp_directory='{spill}'; SET preserve_insertion_order=false")
        for name in members(zip_path):
            with extracted(archive, name) as path:
                delimiter = DELIMITERS[Path(name).suffix]
                con.execute("DROP TABLE IF EXISTS m")
                # store_rejects: malformed rows are skipped AND listed with their line numbers.
                # (ignore_errors=true alone stops at the first bad quote: half of a member lost.)
                con.execute(
                    f"CREATE TABLE m AS SELECT * FROM read_csv(?, delim=?, header=true, store_rejects=true, "
                    f"rejects_table='rejects_{len(found)}', rejects_scan='scans_{len(found)}')",
                    [str(path), delimiter],
                )
            found[name] = _duckdb_member(con, threshold, f"rejects_{len(found)}")
        con.close()
    return found


def _duckdb_member(con, threshold: int, rejects: str) -> dict:
    columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name='m'").fetchall()
    rows = con.execute("SELECT count(*) FROM m").fetchone()[0]
    numeric = {"BIGINT", "DOUBLE", "INTEGER", "DECIMAL", "HUGEINT"}
    parts = []
    for column, kind in columns:
        q = f'"{column}"'
        parts += [f"count({q})", f"approx_count_distinct({q})", f"min({q})::VARCHAR", f"max({q})::VARCHAR"]
        parts.append(f"avg({q})" if kind in numeric else "NULL")
    stats = con.execute(f"SELECT {', '.join(parts)} FROM m").fetchone()
    profile = {}
    for n, (column, kind) in enumerate(columns):
        filled, approx, low, high, mean = stats[n * 5 : n * 5 + 5]
        profile[column] = {
            "type": _duckdb_type(con, column, kind),
            "nulls": rows - filled,
            "distinct": approx,
            "distinct_exact": False,
            "min": low,
            "max": high,
            "mean": mean,
        }
    # Exact distinct counts and top values for the columns under the threshold: one scan.
    small = [c for c, p in profile.items() if p["distinct"] < threshold]
    if small:
        sets = ", ".join(f'("{c}")' for c in small)
        which = ", ".join(f'GROUPING("{c}")' for c in small)
        grouped = con.execute(
            f"SELECT {', '.join(f'{quoted(c)}::VARCHAR' for c in small)}, {which}, count(*) "
            f"FROM m GROUP BY GROUPING SETS ({sets})"
        ).fetchall()
        for n, column in enumerate(small):
            # GROUPING(c) = 0 marks the rows grouped by c.
            counts = [(row[n], row[-1]) for row in grouped if row[len(small) + n] == 0]
            profile[column]["distinct"] = sum(1 for value, _ in counts if value is not None)
            profile[column]["distinct_exact"] = True
            profile[column]["top"] = sorted(counts, key=lambda vc: -vc[1])[:TOP]
    # Histograms of numbers and dates, all columns in one scan.
    binned = [c for c, kind in columns if (kind in numeric or kind == "DATE") and profile[c]["min"] is not None]
    if binned:
        # Dates are binned as seconds since the epoch.
        numbers = [f'epoch("{c}")' if profile[c]["type"] == "date" else f'"{c}"' for c in binned]
        bounds = ", ".join(f"min({x}) AS min_{n}, max({x}) AS max_{n}" for n, x in enumerate(numbers))
        exprs = [
            f"histogram(least({BINS - 1}, "
            f"floor(({x} - min_{n}) / greatest(max_{n} - min_{n}, 1e-9) * {BINS}))::INTEGER)"
            for n, x in enumerate(numbers)
        ]
        histograms = con.execute(f"WITH b AS (SELECT {bounds} FROM m) SELECT {', '.join(exprs)} FROM m, b").fetchone()
        for column, histogram in zip(binned, histograms, strict=True):
            profile[column]["histogram"] = sorted((histogram or {}).items())
    rejected = con.execute(f"SELECT line, error_type FROM {rejects} ORDER BY line LIMIT 100").fetchall()
    return {"rows": rows, "rejected": rejected, "columns": profile}


def quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _duckdb_type(con, column: str, kind: str) -> str:
    if kind == "DATE":
        return "date"  # the sniffer's format; the bench's files are all M/D/YYYY
    if kind in {"BIGINT", "INTEGER", "HUGEINT"}:
        return "integer"
    if kind in {"DOUBLE", "DECIMAL"}:
        return "decimal"
    flag = con.execute(f"""SELECT bool_and("{column}" IN ('Y', 'N')) FROM m WHERE "{column}" IS NOT NULL""").fetchone()
    return "flag" if flag[0] else "text"


# --- polars: the same metrics ---------------------------------------------------------------------

PATTERNS = [
    ("integer", re.compile(r"-?(0|[1-9]\d{0,17})")),  # a leading zero keeps zip codes and ids text
    ("decimal", re.compile(r"-?\d+\.\d+")),
    ("date", re.compile(r"\d{1,2}/\d{1,2}/\d{4}")),
    ("flag", re.compile(r"[YN]")),
]


def polars_metrics(zip_path: str, threshold: int) -> dict:
    import polars as pl

    found = {}
    with zipfile.ZipFile(zip_path) as archive:
        for name in members(zip_path):
            with extracted(archive, name) as path:
                found[name] = _polars_member(pl, path, DELIMITERS[Path(name).suffix], threshold)
    return found


def _polars_member(  # noqa: PLR0912 -- one engine's whole profile, kept in one place
    pl, path: Path, delimiter: str, threshold: int
) -> dict:
    # All text, then our own inference on a sample: polars' would read zip codes as numbers.
    # truncate_ragged_lines: polars cannot skip nor list malformed rows, only stop or accept them.
    scan = pl.scan_csv(path, separator=delimiter, infer_schema=False, truncate_ragged_lines=True, ignore_errors=True)
    sample = scan.head(20000).collect()
    kinds = {}
    for column in sample.columns:
        values = [v for v in sample[column].to_list() if v is not None]
        kinds[column] = next((k for k, p in PATTERNS if values and all(p.fullmatch(v) for v in values)), "text")
    casts = []
    for column, kind in kinds.items():
        c = pl.col(column)
        if kind == "integer":
            c = c.cast(pl.Int64, strict=False)
        elif kind == "decimal":
            c = c.cast(pl.Float64, strict=False)
        elif kind == "date":
            c = c.str.to_date("%m/%d/%Y", strict=False)
        casts.append(c.alias(column))
    typed = scan.select(casts)
    stats = []
    for column, kind in kinds.items():
        c = pl.col(column)
        stats += [
            c.null_count().alias(f"{column}|nulls"),
            c.approx_n_unique().alias(f"{column}|distinct"),
            c.min().cast(pl.String).alias(f"{column}|min"),
            c.max().cast(pl.String).alias(f"{column}|max"),
        ]
        if kind in {"integer", "decimal"}:
            stats.append(c.mean().alias(f"{column}|mean"))
    row = typed.select([pl.len().alias("rows"), *stats]).collect(engine="streaming").row(0, named=True)
    profile = {
        column: {
            "type": kind,
            "nulls": row[f"{column}|nulls"],
            "distinct": row[f"{column}|distinct"],
            "distinct_exact": False,
            "min": row[f"{column}|min"],
            "max": row[f"{column}|max"],
            "mean": row.get(f"{column}|mean"),
        }
        for column, kind in kinds.items()
    }
    for column, entry in profile.items():
        if entry["distinct"] < threshold:
            counts = typed.group_by(column).agg(pl.len()).collect(engine="streaming")
            entry["distinct"] = counts[column].drop_nulls().len()
            entry["distinct_exact"] = True
            top = counts.sort("len", descending=True).head(TOP)
            entry["top"] = [(None if v is None else str(v), n) for v, n in top.rows()]
    binned = [c for c, k in kinds.items() if k in {"integer", "decimal", "date"} and profile[c]["min"] is not None]
    if binned:
        exprs = []
        for column in binned:
            c = pl.col(column)
            if kinds[column] == "date":
                c = c.cast(pl.Int32)
            low, high = typed.select(c.min().alias("low"), c.max().alias("high")).collect(engine="streaming").row(0)
            width = max(high - low, 1e-9)
            exprs.append(((c - low) / width * BINS).floor().clip(0, BINS - 1).cast(pl.Int32).alias(column))
        bins = typed.select(exprs)
        for column in binned:
            counts = bins.group_by(column).agg(pl.len()).collect(engine="streaming")
            profile[column]["histogram"] = sorted(counts.drop_nulls().rows())
    return {"rows": row["rows"], "rejected": "not available in polars", "columns": profile}


# --- peers as their users run them -----------------------------------------------------------------


def duckdb_summarize(zip_path: str, threshold: int) -> dict:
    import duckdb

    found = {}
    con = duckdb.connect()
    with zipfile.ZipFile(zip_path) as archive:
        for name in members(zip_path):
            with extracted(archive, name) as path:
                summary = con.execute("SUMMARIZE SELECT * FROM read_csv(?, store_rejects=true)", [str(path)])
                rows = summary.fetchall()
                found[name] = {"rows": rows[0][-2] if rows else 0, "columns": {r[0]: r[1] for r in rows}}
    return found


def pandas_describe(zip_path: str, threshold: int) -> dict:
    import pandas as pd

    found = {}
    with zipfile.ZipFile(zip_path) as archive:
        for name in members(zip_path):
            with archive.open(name) as stream:
                frame = pd.read_csv(stream, sep=DELIMITERS[Path(name).suffix], on_bad_lines="skip")
            frame.describe(include="all")
            found[name] = {"rows": len(frame), "columns": {c: str(t) for c, t in frame.dtypes.items()}}
            del frame
    return found


def ydata_minimal(zip_path: str, threshold: int) -> dict:
    import pandas as pd
    from ydata_profiling import ProfileReport

    found = {}
    with zipfile.ZipFile(zip_path) as archive:
        for name in members(zip_path):
            with archive.open(name) as stream:
                frame = pd.read_csv(stream, sep=DELIMITERS[Path(name).suffix], on_bad_lines="skip")
            description = ProfileReport(frame, minimal=True, progress_bar=False).get_description()
            found[name] = {
                "rows": description.table["n"],
                "columns": {c: v["type"] for c, v in description.variables.items()},
            }
            del frame, description
    return found


# --- ours -------------------------------------------------------------------------------------------


# `ours-patched`: our profile with its duckdb SQL edited on the way (old=>new;old=>new), to measure a
# fix before it is made. The default: duckdb sizes its CSV buffers from max_line_size (16 times it),
# so 10,000,000 asks for 152.5 MiB blocks and a member over one buffer fails under memory_limit=256MB.
DEFAULT_PATCH = "max_line_size = 10000000=>max_line_size = 2097152"


class _PatchedConnection:
    def __init__(self, connection, replacements: list[tuple[str, str]]):
        self._connection, self._replacements = connection, replacements

    def execute(self, sql: str, *args):
        for old, new in self._replacements:
            sql = sql.replace(old, new)
        return self._connection.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._connection, name)


def _patch_sql() -> None:
    from profiling.profiler import full

    replacements = [tuple(pair.split("=>", 1)) for pair in os.environ.get("BENCH_PATCH", DEFAULT_PATCH).split(";")]
    connect = full._connect
    full._connect = lambda *args, **kwargs: _PatchedConnection(connect(*args, **kwargs), replacements)


def _ours(function_name: str, inflate_with_isal: bool = False, patched: bool = False):
    def run(zip_path: str, threshold: int) -> dict:
        sys.path.insert(0, str(ROOT))
        if patched:
            _patch_sql()
        if inflate_with_isal:
            # ISA-L's inflate, about twice zlib's speed, in place of zlib inside zipfile.
            from isal import isal_zlib

            zipfile.zlib = isal_zlib
        if os.environ.get("DJANGO_SETTINGS_MODULE"):
            import django

            django.setup()
        import importlib

        module_name, _, attribute = function_name.rpartition(".")
        function = getattr(importlib.import_module(module_name), attribute)
        return function(zip_path)

    return run


ENGINES = {
    "ours": _ours(os.environ.get("BENCH_FULL_PROFILE", "profiling.profiler.full.full_profile")),
    "ours-isal": _ours(os.environ.get("BENCH_FULL_PROFILE", "profiling.profiler.full.full_profile"), True),
    "ours-patched": _ours(os.environ.get("BENCH_FULL_PROFILE", "profiling.profiler.full.full_profile"), patched=True),
    "ours-preliminary": _ours(
        os.environ.get("BENCH_PRELIMINARY_PROFILE", "profiling.profiler.preliminary.preliminary_profile")
    ),
    "duckdb-metrics": duckdb_metrics,
    "polars-metrics": polars_metrics,
    "duckdb-summarize": duckdb_summarize,
    "pandas-describe": pandas_describe,
    "ydata-minimal": ydata_minimal,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("batch", help="a zip written by bench/generate_batches.py")
    parser.add_argument("--threshold", type=int, default=100_000, help="exact distinct counts under this")
    parser.add_argument("--output", help="write the full result here as JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    result = ENGINES[args.engine](args.batch, args.threshold)
    seconds = time.perf_counter() - started
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps({"engine": args.engine, "seconds": seconds}))


if __name__ == "__main__":
    # Run as a script, sys.path[0] is bench/, whose profiling.py would hide the profiling app.
    sys.path[0] = str(ROOT)
    main()

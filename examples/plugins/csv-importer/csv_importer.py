"""Example plugin: import a CSV from a URL or from a file into the execution's output directory.

Entry point: `csv_importer:run`. Properties (see README.md next to this file):
- `source_url` (URL): where to download the CSV from; when set, it wins over
- `source_file` (DATA_FILE or STRING): a path, relative to the plugin's own files, e.g. `data/sample.csv`
- `delimiter` (STRING, default ","), `required_columns` (STRING, comma-separated, may be empty),
  `max_bytes` (INT, default 100 MB), `progress_every` (INT, rows between progress reports, default 1000)

Rows with the header's number of columns and every required column filled go to `imported.csv`; the others
to `rejected.csv` with the reason. Each row is one task of the execution's progress.
Only the standard library: nothing to install.
"""

import csv
import tempfile
import urllib.request
from pathlib import Path

CHUNK = 64 * 1024
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
HERE = Path(__file__).resolve().parent


class CsvImportError(Exception):
    """A problem with the input: the execution fails with this message."""


def run(context):
    props = context.properties
    delimiter = _text(props.get("delimiter")) or ","
    required = [c.strip() for c in (_text(props.get("required_columns")) or "").split(",") if c.strip()]
    max_bytes = _int(props.get("max_bytes")) or DEFAULT_MAX_BYTES
    progress_every = max(1, _int(props.get("progress_every")) or 1000)
    output_dir = Path(context.output_dir)

    with tempfile.TemporaryDirectory() as scratch:
        source, description = fetch_source(props, Path(scratch), max_bytes=max_bytes, log=context.log)
        return import_csv(
            source,
            output_dir,
            delimiter=delimiter,
            required=required,
            progress_every=progress_every,
            context=context,
            description=description,
        )


def fetch_source(props, scratch: Path, *, max_bytes: int, log) -> tuple[Path, str]:
    url = _url(props.get("source_url"))
    path = _file(props.get("source_file"))
    if url:
        log(f"downloading {url}")
        target = scratch / "download.csv"
        download(url, target, max_bytes=max_bytes)
        return target, url
    if path:
        source = (HERE / path).resolve()
        if not source.is_relative_to(HERE) or not source.is_file():
            raise CsvImportError(f"source_file {path!r} is not a file of this plugin")
        if source.stat().st_size > max_bytes:
            raise CsvImportError(f"source_file {path!r} is larger than max_bytes ({max_bytes})")
        log(f"reading {path}")
        return source, path
    raise CsvImportError("set the source_url or the source_file property")


def download(url: str, target: Path, *, max_bytes: int, timeout: float = 30) -> int:
    if not url.lower().startswith(("http://", "https://")):
        raise CsvImportError(f"source_url must be an http(s) URL, not {url!r}")
    total = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, target.open("wb") as out:  # noqa: S310
            while chunk := response.read(CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise CsvImportError(f"{url} is larger than max_bytes ({max_bytes})")
                out.write(chunk)
    except OSError as error:  # URLError, HTTPError, timeouts
        raise CsvImportError(f"cannot download {url}: {error}") from error
    return total


def count_rows(source: Path, delimiter: str) -> int:
    with _open_csv(source) as handle:
        return max(0, sum(1 for _ in csv.reader(handle, delimiter=delimiter)) - 1)


def import_csv(
    source: Path,
    output_dir: Path,
    *,
    delimiter: str,
    required: list[str],
    progress_every: int,
    context,
    description: str,
) -> dict:
    try:
        return _import_csv(
            source,
            output_dir,
            delimiter=delimiter,
            required=required,
            progress_every=progress_every,
            context=context,
            description=description,
        )
    except UnicodeDecodeError as error:
        raise CsvImportError(f"{description} is not UTF-8 text: {error}") from None
    except csv.Error as error:
        raise CsvImportError(f"{description} is not a valid CSV: {error}") from None


def _import_csv(source, output_dir, *, delimiter, required, progress_every, context, description) -> dict:
    total = count_rows(source, delimiter)
    imported = rejected = done = 0
    context.report_progress(num_tasks=total, completed_tasks=0, erroneous_tasks=0)
    output_dir.mkdir(parents=True, exist_ok=True)
    with (
        _open_csv(source) as handle,
        (output_dir / "imported.csv").open("w", newline="", encoding="utf-8") as good,
        (output_dir / "rejected.csv").open("w", newline="", encoding="utf-8") as bad,
    ):
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise CsvImportError(f"{description} is empty: a CSV with a header line was expected")
        header = [name.strip() for name in header]
        missing = [name for name in required if name not in header]
        if missing:
            raise CsvImportError(f"{description} has no column {', '.join(missing)} (columns: {', '.join(header)})")
        required_at = [header.index(name) for name in required]
        good_writer, bad_writer = csv.writer(good), csv.writer(bad)
        good_writer.writerow(header)
        bad_writer.writerow(["line", "reason", *header])
        for row in reader:
            done += 1
            reason = row_problem(row, header, required, required_at)
            if reason:
                rejected += 1
                bad_writer.writerow([reader.line_num, reason, *row])
            else:
                imported += 1
                good_writer.writerow(row)
            if done % progress_every == 0:
                context.report_progress(num_tasks=total, completed_tasks=imported, erroneous_tasks=rejected)
                if context.cancelled:
                    context.log(f"canceled after {done} of {total} rows")
                    break
    context.report_progress(num_tasks=total, completed_tasks=imported, erroneous_tasks=rejected)
    context.log(f"imported {imported} rows, rejected {rejected}, from {description}")
    result = {"source": description, "columns": header, "rows_imported": imported, "rows_rejected": rejected}
    context.set_result(result)
    return result


def row_problem(row: list[str], header: list[str], required: list[str], required_at: list[int]) -> str | None:
    if len(row) != len(header):
        return f"{len(row)} columns instead of {len(header)}"
    empty = [name for name, index in zip(required, required_at, strict=True) if not row[index].strip()]
    return f"empty {', '.join(empty)}" if empty else None


def _open_csv(source: Path):
    # utf-8-sig: a byte order mark (Excel's exports) is not part of the first column's name.
    return source.open(newline="", encoding="utf-8-sig", errors="strict")


# Property values arrive typed; accept the raw {"value": ...} shapes too, so the logic is easy to test.
def _text(value):
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) else None


def _int(value):
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _url(value):
    if isinstance(value, dict):
        value = value.get("url")
    return value or None


def _file(value):
    if isinstance(value, dict):
        value = value.get("uri") or value.get("file_path") or value.get("value")
    return value or None

"""Rebuilds sample/wc-batch.zip from sample/insured.csv and sample/class.csv: `python3 sample/build_wc_batch_zip.py`.

A batch zip as the submit URLs take it: one member per node, no folders. Fixed member order and timestamps, so
the same CSVs give the same zip."""

import zipfile
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent
MEMBERS = ("insured.csv", "class.csv")


def build(target: Path = SAMPLE / "wc-batch.zip") -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for name in MEMBERS:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (SAMPLE / name).read_bytes())
    return target


if __name__ == "__main__":
    print(build())

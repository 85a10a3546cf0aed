"""What the insureright-scoring tests share: the plugin's code, imported by path, and a context that records
what the plugin tells the platform (the attributes batchplatform_sdk's context gives a processor)."""

import csv
import importlib.util
import sys
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent.parent
SAMPLE = PLUGIN_DIR / "sample"

# The plugin imports its own package as the runner lets it (the unpacked archive is on the path).
if str(PLUGIN_DIR) not in sys.path:
    sys.path.insert(0, str(PLUGIN_DIR))


def load_main():
    # By path, under a name of its own: "main" is the plugin's module name, not one of the project's.
    spec = importlib.util.spec_from_file_location("insureright_scoring_main", PLUGIN_DIR / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class RecordingContext:
    def __init__(self, input_dir: Path, output_dir: Path, *, parameters=None, properties=None, cancel_after=None):
        self.input_dir = Path(input_dir)
        self.inputs = sorted(p.name for p in self.input_dir.iterdir()) if self.input_dir.is_dir() else []
        self.output_dir = Path(output_dir)
        self.parameters = parameters if parameters is not None else {}
        self.properties = properties or {}
        self.progress: list[tuple] = []
        self.lines: list[str] = []
        self.result = None
        self._cancel_after = cancel_after  # cancelled once this many progress reports were made

    def log(self, *parts, level="INFO"):
        self.lines.append(" ".join(str(p) for p in parts))

    def report_progress(self, *, num_tasks=None, completed_tasks=None, erroneous_tasks=None):
        self.progress.append((num_tasks, completed_tasks, erroneous_tasks))

    def set_result(self, result):
        self.result = result

    @property
    def cancelled(self):
        return self._cancel_after is not None and len(self.progress) >= self._cancel_after


def rows_of(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


INSURED_HEADER = (
    "original_policy_term_number,term_effective_date,experience_mod_factor_initial,new_renew_flag,insured_name,"
    "policy_state_code,policy_zip_code,available_history_1,available_history_2,available_history_3,"
    "non_zero_claim_count_1,non_zero_claim_count_2,non_zero_claim_count_3"
)
CLASS_HEADER = "original_policy_term_number,term_effective_date,state_code,class_code,payroll_amount_initial"


def write_batch(
    folder: Path, insured: list[str], classes: list[str], *, extension=".csv", delimiter=",", encoding="utf-8"
):
    """A batch's two members from comma-separated lines (header first), written with another delimiter if asked."""
    folder.mkdir(parents=True, exist_ok=True)
    for node, lines in (("insured", insured), ("class", classes)):
        rows = list(csv.reader(lines))
        with (folder / f"{node}{extension}").open("w", newline="", encoding=encoding) as handle:
            csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return folder

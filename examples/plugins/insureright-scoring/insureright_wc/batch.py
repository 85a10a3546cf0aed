"""One batch from its node files to scores.csv, rejected.csv and summary.json.

Three streamed passes, so memory grows with the number of policy terms, never with the rows of a file:
1. insured: validate each row; the first valid row of a term is the term (later ones are rejected);
2. class: validate each row, reject those of a term without an insured row, add the others to their term's aggregate;
3. insured again: score each term from its row and its aggregate, in file order.
"""

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from insureright_wc import MODEL_NAME, MODEL_VERSION, ScoringInputError, fields, files, model

SCORES_COLUMNS = (
    "original_policy_term_number",
    "term_effective_date",
    "score",
    "score_band",
    "reason_1",
    "reason_2",
    "reason_3",
    "row_number",
)
REJECTED_COLUMNS = ("node", "row_number", "original_policy_term_number", "reason")
# How often a long pass checks for a cancel (the SDK's check is a stat of the cancel file).
CANCEL_CHECK_EVERY = 500


@dataclass
class Hooks:
    """What the batch tells (and asks) the platform; main.run() binds them to the execution's context."""

    log: Callable[[str], None]
    progress: Callable[..., None]
    cancelled: Callable[[], bool]
    progress_every: int = 1000


@dataclass
class Counts:
    insured_rows: int = 0
    class_rows: int = 0
    terms: int = 0
    scored: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: {"insured": 0, "class": 0})
    bands: dict[str, int] = field(default_factory=lambda: {name: 0 for _, name in model.BANDS})
    cancelled: bool = False

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


class _Cancelled(Exception):
    pass


def score_batch(*, input_dir: Path, output_dir: Path, nodes: Mapping[str, str] | None, hooks: Hooks) -> dict:
    """Scores the batch into output_dir and answers the summary (also written as summary.json)."""
    paths = files.locate_nodes(Path(input_dir), nodes, tuple(fields.NODES))
    node_files = {}
    for node, path in paths.items():
        node_file = files.open_node(node, path)
        files.check_columns(node_file, files.read_header(node_file), fields.required_names(fields.NODES[node]))
        node_files[node] = node_file
        hooks.log(f"{node}: {path.name} ({node_file.encoding}, delimiter {node_file.delimiter!r})")

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    counts = Counts()
    with (
        (output_dir / "rejected.csv").open("w", newline="", encoding="utf-8") as rejected_out,
        (output_dir / "scores.csv").open("w", newline="", encoding="utf-8") as scores_out,
    ):
        run = _Pass(rejected=csv.writer(rejected_out), counts=counts, hooks=hooks)
        run.rejected.writerow(REJECTED_COLUMNS)
        scores = csv.writer(scores_out)
        scores.writerow(SCORES_COLUMNS)
        try:
            terms = run.read_terms(node_files["insured"])
            aggregates = run.aggregate_classes(node_files["class"], terms)
            run.score_terms(node_files["insured"], terms, aggregates, scores)
        except _Cancelled:
            counts.cancelled = True
            hooks.log(f"canceled: {counts.scored} of {counts.terms} policy terms scored before the cancel")

    summary = {
        "model": MODEL_NAME,
        "model_version": MODEL_VERSION,
        "inputs": {node: path.name for node, path in paths.items()},
        "insured_rows": counts.insured_rows,
        "class_rows": counts.class_rows,
        "policy_terms": counts.terms,
        "scored": counts.scored,
        "rejected": counts.rejected_total,
        "rejected_by_node": counts.rejected,
        "score_bands": counts.bands,
        "complete": not counts.cancelled,
    }
    (output_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    hooks.progress(num_tasks=counts.terms, completed_tasks=counts.scored, erroneous_tasks=counts.rejected_total)
    hooks.log(
        f"scored {counts.scored} policy terms, rejected {counts.rejected_total} rows "
        f"({counts.rejected['insured']} insured, {counts.rejected['class']} class)"
    )
    return summary


@dataclass
class _Pass:
    """The passes over the nodes, sharing the rejected.csv writer, the counts and the platform's hooks."""

    rejected: Any
    counts: Counts
    hooks: Hooks

    def check_cancel(self, row_number: int) -> None:
        if row_number % CANCEL_CHECK_EVERY == 0 and self.hooks.cancelled():
            raise _Cancelled

    def validated_rows(self, node_file, columns) -> Iterator[tuple[int, dict, dict, list[str]]]:
        """Each row of a node: (row_number, raw values, typed values, problems: the reader's first)."""
        for row_number, values, problem in files.iter_rows(node_file, fields.all_names(columns)):
            self.check_cancel(row_number)
            typed, problems = fields.validate_row(columns, values)
            if problem:
                problems.insert(0, problem)
            yield row_number, values, typed, problems

    def reject(self, node: str, row_number: int, values: dict, reason: str) -> None:
        self.counts.rejected[node] += 1
        self.rejected.writerow((node, row_number, values.get("original_policy_term_number", ""), reason))

    def read_terms(self, node_file) -> dict:
        """Term key -> the row_number of its insured row (the first valid one)."""
        terms: dict = {}
        for row_number, values, typed, problems in self.validated_rows(node_file, fields.INSURED_COLUMNS):
            self.counts.insured_rows += 1
            if problems:
                self.reject("insured", row_number, values, "; ".join(problems))
                continue
            key = fields.term_key(typed)
            if key in terms:
                reason = f"duplicate policy term: insured row {terms[key]} has the same number and effective date"
                self.reject("insured", row_number, values, reason)
                continue
            terms[key] = row_number
        self.counts.terms = len(terms)
        self.hooks.log(f"insured: {self.counts.insured_rows} rows, {self.counts.terms} policy terms")
        return terms

    def aggregate_classes(self, node_file, terms: dict) -> dict:
        aggregates: dict = {}
        for row_number, values, typed, problems in self.validated_rows(node_file, fields.CLASS_COLUMNS):
            self.counts.class_rows += 1
            if not problems and fields.term_key(typed) not in terms:
                problems.append("no valid insured row for this policy term (number and effective date)")
            if problems:
                self.reject("class", row_number, values, "; ".join(problems))
                continue
            aggregate = aggregates.setdefault(fields.term_key(typed), model.ClassAggregate())
            aggregate.add(class_code=typed["class_code"], payroll=typed["payroll_amount_initial"])
        self.hooks.log(f"class: {self.counts.class_rows} rows for {len(aggregates)} policy terms")
        return aggregates

    def score_terms(self, node_file, terms: dict, aggregates: dict, scores) -> None:
        self.hooks.progress(num_tasks=self.counts.terms, completed_tasks=0, erroneous_tasks=self.counts.rejected_total)
        for row_number, _, typed, problems in self.validated_rows(node_file, fields.INSURED_COLUMNS):
            if problems or terms.get(fields.term_key(typed)) != row_number:
                continue  # rejected in the first pass
            key = fields.term_key(typed)
            result = model.score_term(typed, aggregates.get(key))
            scores.writerow((key[0], key[1].isoformat(), result.score, result.band, *result.reasons, row_number))
            self.counts.scored += 1
            self.counts.bands[result.band] += 1
            if self.counts.scored % self.hooks.progress_every == 0:
                self.hooks.progress(
                    num_tasks=self.counts.terms,
                    completed_tasks=self.counts.scored,
                    erroneous_tasks=self.counts.rejected_total,
                )
                if self.hooks.cancelled():
                    raise _Cancelled
        if self.counts.scored != self.counts.terms:
            raise ScoringInputError(
                f"{node_file.path.name} changed while it was read: "
                f"{self.counts.terms} policy terms, {self.counts.scored} scored"
            )

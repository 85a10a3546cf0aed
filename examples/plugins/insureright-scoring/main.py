"""insureright/scoring: the reference scoring plugin for workers' compensation batches (insured + class nodes).

Entry point `main:run`. Reads the batch's two nodes from the execution's input folder, validates their rows,
scores each policy term and writes scores.csv, rejected.csv and summary.json to the output folder (README.md:
the columns, the formula, its limits). Only the standard library: it runs with nothing installed.
"""

import os
from pathlib import Path

from insureright_wc import ScoringInputError, batch

DEFAULT_PROGRESS_EVERY = 1000

__all__ = ["ScoringInputError", "run"]


def run(context):
    parameters = getattr(context, "parameters", None) or {}
    nodes = parameters.get("nodes")
    if nodes is not None and not isinstance(nodes, dict):
        raise ScoringInputError(f"the nodes parameter must map a node to a file name, not {nodes!r}")
    hooks = batch.Hooks(
        log=context.log,
        progress=context.report_progress,
        cancelled=lambda: context.cancelled,
        progress_every=_progress_every(getattr(context, "properties", None) or {}),
    )
    summary = batch.score_batch(
        input_dir=_input_dir(context), output_dir=Path(context.output_dir), nodes=nodes, hooks=hooks
    )
    result = {"scored": summary["scored"], "rejected": summary["rejected"]}
    context.set_result(result)
    return result


def _input_dir(context) -> Path:
    # The SDK's context.input_dir; INPUT_DIR is the same folder in the protocol every language sees.
    folder = getattr(context, "input_dir", None) or os.environ.get("INPUT_DIR")
    if not folder:
        raise ScoringInputError("no input folder: this execution was not started with a batch's files")
    return Path(folder)


def _progress_every(properties: dict) -> int:
    value = properties.get("progress_every")
    if isinstance(value, dict):  # the raw {"value": ...} shape
        value = value.get("value")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return DEFAULT_PROGRESS_EVERY

"""The insureright workers' compensation reference scoring model: reading the batch's nodes, validating
their rows, scoring each policy term and writing the results (see README.md next to this package)."""

MODEL_NAME = "insureright-wc-reference"
MODEL_VERSION = "1.0.0"


class ScoringInputError(Exception):
    """The batch as a whole cannot be scored (a node or a required column is missing, a file is unreadable):
    the execution fails with this message."""

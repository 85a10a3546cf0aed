import argparse

from django.conf import settings
from django.core.management.base import BaseCommand

from batches import services


def positive_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days < 1:
        raise argparse.ArgumentTypeError(f"DAYS must be a positive integer, not {text!r}")
    return days


class Command(BaseCommand):
    help = "Remove request batches (with their requests) created more than DAYS days ago."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=positive_days,
            metavar="DAYS",
            help=f"Defaults to ECC_BATCH_RETENTION_DAYS ({settings.ECC_BATCH_RETENTION_DAYS})",
        )

    def handle(self, *args, older_than, **options):
        removed = services.purge_batches(older_than_days=older_than)
        days = settings.ECC_BATCH_RETENTION_DAYS if older_than is None else older_than
        self.stdout.write(f"Removed {removed} batch(es) older than {days} day(s).")

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from batchplatform.errors import DomainError
from profiling import services


class Command(BaseCommand):
    help = (
        "Define or update a solution, its releases and submission types from a YAML or JSON file "
        "(see profiling/solutions/insureright.yaml and profiling/services/definitions.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="e.g. profiling/solutions/insureright.yaml")

    def handle(self, *args, file: Path, **options):
        try:
            with transaction.atomic():
                solution = services.define_solution_from_document(document=services.load_document(file))
        except DomainError as error:
            raise CommandError(f"{file}: {error.message}") from None
        releases = solution.releases.order_by("major", "minor", "patch")
        for release in releases:
            types = ", ".join(
                f"{submission_type.name} (processor: instance {submission_type.processor_id})"
                for submission_type in release.submission_types.all()
            )
            self.stdout.write(f"{solution.name} {release.version} current from {release.current_from}: {types or '-'}")
        owner = solution.organisation.slug if solution.organisation_id else "platform-wide"
        self.stderr.write(f"Solution {solution.name!r} ({owner}) is defined.")

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from batchplatform.services import create_organisation


class Command(BaseCommand):
    help = "Create an organisation (a tenant) and print its id."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", default="")

    def handle(self, *args, slug, name, **options):
        try:
            organisation = create_organisation(slug=slug, name=name)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(str(organisation.pk))
        self.stderr.write(f"Organisation {organisation.slug!r} created with organisation_id {organisation.pk}.")

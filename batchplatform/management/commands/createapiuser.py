from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from batchplatform.models import Organisation
from batchplatform.services import create_api_user


class Command(BaseCommand):
    help = "Create a user of an organisation (for Basic auth and tokens); prints a generated password."

    def add_arguments(self, parser):
        parser.add_argument("organisation_slug")
        parser.add_argument("username")
        parser.add_argument("--password", help="Generated and printed when omitted")

    def handle(self, *args, organisation_slug, username, password, **options):
        try:
            organisation = Organisation.objects.get(slug=organisation_slug)
        except Organisation.DoesNotExist:
            raise CommandError(f"No organisation {organisation_slug!r}") from None
        try:
            user, password_used = create_api_user(organisation=organisation, username=username, password=password)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        if password is None:
            self.stdout.write(password_used)
        self.stderr.write(f"User {user.username!r} created in {organisation.slug!r}.")

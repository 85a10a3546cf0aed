from django.core.management.base import BaseCommand, CommandError

from batches.catalogue import ORGANISATION_SERVICE_TYPES, define_service
from batchplatform.errors import DomainError
from batchplatform.models import Organisation


class Command(BaseCommand):
    help = "Define an organisation's bucket or recurring bucket (onboarding); prints the service id."

    def add_arguments(self, parser):
        parser.add_argument("organisation_slug")
        parser.add_argument("sid", help="Case-sensitive service id, e.g. Data1G")
        parser.add_argument("--type", dest="service_type", required=True, choices=list(ORGANISATION_SERVICE_TYPES))
        parser.add_argument(
            "--multiple-instances", action="store_true", help="Each assignment adds an instance (e.g. top-ups)"
        )
        parser.add_argument("--description", default="")

    def handle(self, *args, organisation_slug, sid, service_type, multiple_instances, description, **options):
        try:
            organisation = Organisation.objects.get(slug=organisation_slug)
        except Organisation.DoesNotExist:
            raise CommandError(f"No organisation {organisation_slug!r}") from None
        try:
            service = define_service(
                organisation=organisation,
                sid=sid,
                service_type=service_type,
                multiple_instances=multiple_instances,
                description=description,
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(service.sid)
        self.stderr.write(f"Service {service.sid!r} ({service.service_type}) defined for {organisation.slug!r}.")

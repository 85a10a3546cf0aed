from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from batchplatform.services import create_api_token


class Command(BaseCommand):
    help = "Create an API token for a user; prints the token alone on stdout (it is shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to tell tokens apart")

    def handle(self, *args, username, name, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {username!r}") from None
        _, raw = create_api_token(user=user, name=name)
        self.stdout.write(raw)

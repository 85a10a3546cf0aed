from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from batchplatform.env import env_str
from batchplatform.services import generate_password


class Command(BaseCommand):
    help = "Make sure a superuser exists; the first time, create one and print how to log in."

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin account exists (manage.py changepassword <name> to reset it).")
            return
        username = env_str("ADMIN_USERNAME", "admin")
        password = env_str("ADMIN_PASSWORD") or generate_password()
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"Admin account created. Log in at /admin/ as {username!r} with password {password!r}")

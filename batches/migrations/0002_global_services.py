from django.db import migrations

# The teleservices and supplementary services every API user has (reference/ecc/services.md).
GLOBAL_SERVICES = [
    ("ts-voice", "teleservice", [], "Voice"),
    ("ts-mo-sms", "teleservice", [], "Mobile originated SMS"),
    ("ts-mt-sms", "teleservice", [], "Mobile terminated SMS"),
    # The services page also spells these two the other way round in its example.
    ("ts-sms-mo", "teleservice", [], "Mobile originated SMS (alias)"),
    ("ts-sms-mt", "teleservice", [], "Mobile terminated SMS (alias)"),
    ("cfu", "supplementary-service", ["forward-number"], "Call forwarding unconditional"),
    ("cfb", "supplementary-service", ["forward-number"], "Call forwarding on busy"),
    ("cfnr", "supplementary-service", ["forward-number"], "Call forwarding on no reply"),
    ("cfnrc", "supplementary-service", ["forward-number"], "Call forwarding on not reachable"),
    ("clip", "supplementary-service", [], "Calling line identification presentation"),
    ("clir", "supplementary-service", ["mode"], "Calling line identification restriction"),
    ("mpty", "supplementary-service", [], "Multi-party calls"),
]


def add_global_services(apps, schema_editor):
    Service = apps.get_model("batches", "Service")
    for sid, service_type, attributes, description in GLOBAL_SERVICES:
        Service.objects.get_or_create(
            organisation=None, sid=sid,
            defaults={"service_type": service_type, "attributes": attributes, "description": description},
        )


def remove_global_services(apps, schema_editor):
    apps.get_model("batches", "Service").objects.filter(
        organisation=None, sid__in=[s[0] for s in GLOBAL_SERVICES]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("batches", "0001_initial")]
    operations = [migrations.RunPython(add_global_services, remove_global_services)]

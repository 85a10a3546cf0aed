import pytest

from batchplatform.celery import app as celery_app


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded zips land in this test's own folder."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    return tmp_path


@pytest.fixture
def eager(django_capture_on_commit_callbacks):
    """The full profile runs inline when the upload commits (the real worker: test_worker.py)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True

    class Runner:
        def __call__(self, function, *args, **kwargs):
            with django_capture_on_commit_callbacks(execute=True):
                return function(*args, **kwargs)

    yield Runner()
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_eager_propagates = False


# --- Solutions: a processor (a plugin instance of the platform organisation) and a solution ------

SCORER = """
import csv, os
from pathlib import Path

def run(context):
    folder = Path(context.input_dir)
    with open(folder / context.parameters["nodes"]["insured"], newline="") as source:
        rows = list(csv.DictReader(source))
    with open(Path(context.output_dir) / "scores.csv", "w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["original_policy_term_number", "score"])
        for row in rows:
            writer.writerow([row["original_policy_term_number"], 500])
    context.set_result({"scored": len(rows)})
"""

NODES = [
    {
        "node": "insured",
        "required": True,
        "columns": [
            {"name": "original_policy_term_number", "type": "text", "required": True},
            {"name": "term_effective_date", "type": "date", "required": True},
            {"name": "experience_mod_factor_initial", "type": "decimal"},
            {"name": "new_renew_flag", "type": "flag"},
        ],
    },
    {
        "node": "class",
        "required": True,
        "columns": [
            {"name": "original_policy_term_number", "type": "text", "required": True},
            {"name": "payroll_amount_initial", "type": "decimal", "required": True},
        ],
    },
]


@pytest.fixture
def processor(db):
    from plugins import services as plugin_services
    from profiling import services
    from tests.plugins.runs import plugin_instance, plugin_version

    platform = services.platform_organisation()
    plugin = plugin_services.create_plugin(
        organisation=platform, plugin_type="INTEGRATION_BATCH", group_id="com.test", artifact_id="scorer"
    )
    version = plugin_version(plugin, {"main.py": SCORER}, "main:run")
    return plugin_instance(platform, None, version)


@pytest.fixture
def solution(processor):
    """insureright/scoring platform-wide: release 1.0.0 current, 2.0.0 future-dated."""
    from profiling import services

    return services.define_solution(
        organisation=None,
        name="insureright",
        releases=[
            {
                "version": "1.0.0",
                "current_from": "2026-01-01",
                "submission_types": [{"name": "scoring", "nodes": NODES, "processor": processor}],
            },
            {
                "version": "2.0.0",
                "current_from": "2999-01-01",
                "submission_types": [{"name": "scoring", "nodes": NODES[:1], "processor": processor}],
            },
        ],
    )


@pytest.fixture
def scoring(solution):
    from profiling.models import SubmissionType

    return SubmissionType.objects.get(release__solution=solution, release__version="1.0.0", name="scoring")

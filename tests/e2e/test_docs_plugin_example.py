"""docs/plugins.md's complete example, replayed as written by bash and curl against a live server and
a real worker: packplugin, plugin, version from version.json, upload, instance, run, the log followed
with offsets until complete, outcome and artifacts."""

import os

import pytest
from django.db import connection

from batchplatform.services import create_api_token
from plugins.models import Execution
from tests import workers
from tests.e2e.shell import as_run_here, bash, execution_worker, sh_blocks
from tests.processes import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
__all__ = ["execution_worker"]

DOCS = (ROOT / "docs" / "plugins.md").read_text()


def test_the_complete_example_of_the_plugin_docs_ends_succeeded(live_server, execution_worker, member, tmp_path):
    _, token = create_api_token(user=member)
    (session,) = sh_blocks(DOCS, "## A complete example")
    script = as_run_here(session, live_server.url)
    script = script.replace("TOKEN=<your token>", f"TOKEN={token}")
    script = script.replace("examples/plugins/", f"{ROOT}/examples/plugins/")
    env = {**os.environ, "DATABASE_URL": workers.test_database_url()}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    output = bash(script, tmp_path, env)

    connection.close()
    execution = Execution.objects.get()
    assert execution.status == "SUCCEEDED", (execution.error, output)
    assert (execution.num_tasks, execution.completed_tasks, execution.erroneous_tasks) == (5, 3, 2)
    # What the docs say the followed log ends with, printed by the loop of step 4.
    documented_end = DOCS.split("The log printed by step 4 ends with:", 1)[1].split("```")[1].strip()
    expected = documented_end.replace("execution 1 ", f"execution {execution.pk} ")
    assert expected in output, output
    assert output.count("[INFO] imported 3 rows") == 1  # each piece of the log printed once
    assert (tmp_path / "rejected.csv").read_text().splitlines()[1:] == [
        "4,empty email,,Nobody,FR",
        "5,2 columns instead of 3,linus@example.com,Linus Torvalds",
    ]

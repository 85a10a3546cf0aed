"""An operator runs an instance now from the admin, follows the execution's log on its page while a
real worker runs the plugin, and sees it end SUCCEEDED with its result and artifacts."""

import http.server
import threading

import pytest

from plugins import execution_files, services
from plugins.models import Execution
from tests.e2e.shell import execution_worker
from tests.factories import MemberFactory, OrganisationFactory
from tests.plugins.conftest import PROPERTIES
from tests.plugins.runs import plugin_instance, plugin_version
from tests.workers import wait_for

pytestmark = pytest.mark.browser
__all__ = ["execution_worker"]

# Waits for the test's go-ahead over loopback, so the page is seen following a running execution.
WAITING_PLUGIN = """
import time
import urllib.request

def run(context):
    print("waiting for the go", flush=True)
    context.report_progress(num_tasks=2, completed_tasks=1)
    while True:
        try:
            with urllib.request.urlopen(context.properties["go_url"], timeout=5) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.1)
    (context.output_dir / "report.txt").write_text("all good\\n")
    context.log("done")
    context.report_progress(num_tasks=2, completed_tasks=2)
    return {"rows": 2}
"""
GO_PROPERTY = {
    "technical_name": "go_url",
    "value": {"url": None},
    "property_type": "URL",
    "origin": "INSTANCE",
    "writable": True,
    "deletable": False,
}


@pytest.fixture
def go_server():
    """Answers 404 on /go until the test says go, then 200."""
    state = {"go": False}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if state["go"] else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.state = state
    server.url = f"http://127.0.0.1:{server.server_port}/go"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def waiting_instance(transactional_db, go_server):
    organisation = OrganisationFactory(slug="acme")
    member = MemberFactory(organisation=organisation)
    plugin = services.create_plugin(
        organisation=organisation, plugin_type="INTEGRATION_BATCH", group_id="com.acme", artifact_id="importer"
    )
    version = plugin_version(plugin, {"main.py": WAITING_PLUGIN}, "main:run", properties=[*PROPERTIES, GO_PROPERTY])
    instance = plugin_instance(organisation, member, version)
    services.set_instance_property(instance=instance, technical_name="go_url", value={"url": go_server.url})
    return instance


def test_run_now_then_the_log_appears_and_the_execution_succeeds(
    admin_page, execution_worker, waiting_instance, go_server
):
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/plugins/integrationbatchinstance/")
    page.check(f"input[name=_selected_action][value='{waiting_instance.pk}']")
    page.select_option("select[name=action]", "run_now")
    page.click("button[name=index]")
    assert "an execution was created" in page.inner_text(".messagelist")

    page.click(".messagelist a")  # to the execution's page
    page.wait_for_selector("#execution-log-text:has-text('waiting for the go')")
    assert page.inner_text("#execution-status") == "RUNNING"
    # The page asks for the progress after it appended the log: wait for it, as a reader would.
    page.wait_for_selector("#execution-progress:has-text('1 of 2 done')")
    assert page.get_by_role("button", name="Cancel this execution").is_visible()

    go_server.state["go"] = True
    page.wait_for_selector("#execution-status:text-is('SUCCEEDED')", timeout=60_000)
    # The status can turn before the page reloads itself to show the result and artifacts.
    page.wait_for_selector(".field-result_display:has-text('\"rows\": 2')", timeout=30_000)
    log = page.inner_text("#execution-log-text")
    assert "waiting for the go" in log and "[INFO] done" in log and "ended: SUCCEEDED" in log
    assert "2 of 2 done" in page.inner_text("#execution-progress")
    assert '"rows": 2' in page.inner_text(".field-result_display")
    with page.expect_download() as download:
        page.click("a:text-is('report.txt')")
    assert open(download.value.path()).read() == "all good\n"


def test_the_cancel_button_stops_a_running_plugin(admin_page, execution_worker, waiting_instance):
    execution = services.run_now(instance=waiting_instance, user=None)
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/plugins/execution/{execution.pk}/change/")
    page.wait_for_selector("#execution-log-text:has-text('waiting for the go')")

    with page.expect_navigation():
        page.get_by_role("button", name="Cancel this execution").click()
    assert "Canceled: a running plugin is stopped within seconds." in page.inner_text(".messagelist")
    assert page.inner_text("#execution-status") == "CANCELED"
    # The worker stopped the plugin (it never got its go) and wrote the end of the log.
    ended = f"execution {execution.pk} ended: CANCELED"
    wait_for(lambda: ended in execution_files.read_log(execution=execution).text, 60, "the worker to stop the plugin")
    assert Execution.objects.get(pk=execution.pk).status == "CANCELED"


def test_a_processor_executions_page_shows_its_inputs_parameters_and_what_it_read(admin_page, execution_worker):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    organisation = OrganisationFactory(slug="insurer")
    plugin = services.create_plugin(
        organisation=organisation, plugin_type="INTEGRATION_BATCH", group_id="com.insurer", artifact_id="scoring"
    )
    code = "def run(context):\n    return {'read': (context.input_dir / 'insured.csv').read_text()}\n"
    version = plugin_version(plugin, {"main.py": code}, "main:run")
    instance = plugin_instance(organisation, MemberFactory(organisation=organisation), version)
    name = default_storage.save("test-inputs/admin-insured.csv", ContentFile(b"policy 42"))
    execution = services.start_processor_execution(
        instance=instance, inputs={"insured.csv": {"storage_name": name}}, parameters={"batchKey": "k-1"}
    )
    page = admin_page
    page.goto(f"{page.live_server_url}/admin/plugins/execution/{execution.pk}/change/")
    assert f"insured.csv from {name}" in page.inner_text("#execution-inputs")
    assert '"batchKey": "k-1"' in page.inner_text("#execution-parameters")
    page.wait_for_selector("#execution-status:text-is('SUCCEEDED')", timeout=60_000)
    # The status can turn before the page reloads itself to show the result.
    page.wait_for_selector(".field-result_display:has-text('\"read\": \"policy 42\"')", timeout=30_000)

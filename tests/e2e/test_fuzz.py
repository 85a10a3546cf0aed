"""Every operation of /api/schema/, fuzzed by schemathesis against a real uvicorn on loopback.

One schemathesis run per surface (/v1, /ecc, /solutions, as the document lists them), with a fixed
seed: examples, boundary values (coverage), random data (fuzzing) and chains through the
document's links (stateful). It fails on any 5xx and on any answer the document does not describe.
The budget is small here; `make fuzz` runs the same test with every phase and thousands of cases
per surface (FUZZ_MAX_EXAMPLES, FUZZ_PHASES, FUZZ_SEED). A failure prints schemathesis's report,
with a curl to reproduce each case.
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from batchplatform.services import create_api_token
from tests import workers
from tests.conftest import PASSWORD
from tests.factories import MemberFactory, OrganisationFactory
from tests.harness import free_port
from tests.processes import ROOT

pytestmark = pytest.mark.e2e

SEED = os.environ.get("FUZZ_SEED", "42")
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "10")
CHECKS = "not_a_server_error,response_schema_conformance"
# The coverage phase (every boundary value of every parameter, ~2,000 cases for /v1 alone)
# does not fit the suite's budget; `make fuzz` runs it.
PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing,stateful")
SURFACES = ("/v1", "/ecc", "/solutions")
UVICORN = (
    sys.executable,
    "-m",
    "uvicorn",
    "batchplatform.asgi:application",
    "--host",
    "127.0.0.1",
    "--lifespan",
    "off",
)
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

# Credentials per security scheme of the document: a token for /v1, Basic for /ecc and /solutions.
CONFIG = """
[auth.openapi.apiToken]
api_key = "${FUZZ_TOKEN}"

[auth.openapi.basicAuth]
username = "${FUZZ_USERNAME}"
password = "${FUZZ_PASSWORD}"

[auth.openapi.solutionsBasicAuth]
username = "${FUZZ_USERNAME}"
password = "${FUZZ_PASSWORD}"

# A long-poll waits up to 300 s by design: the fuzzer asks for none.
[[operations]]
include-operation-id = "ecc_events_get"
parameters = { "query.long-polling" = 0 }
"""


@pytest.fixture
def server(transactional_db, tmp_path):
    """uvicorn serving the ASGI application (long-poll consumers included) on the test database."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": workers.test_database_url(), "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [*UVICORN, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        workers.wait_for(lambda: _answers(f"{base}/healthz") or process.poll() is not None, 60, "the server")
        assert process.poll() is None, log_path.read_text()
        yield base, log_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _phases(document: dict, surface: str) -> str:
    """The stateful phase needs links; a surface whose document has none (yet) runs without it."""
    linked = any(
        response.get("links")
        for path, operations in document["paths"].items()
        if path.startswith(f"{surface}/")
        for operation in operations.values()
        if isinstance(operation, dict)
        for response in operation.get("responses", {}).values()
    )
    return PHASES if linked else ",".join(p for p in PHASES.split(",") if p != "stateful")


def _schemathesis(config, url: str, surface: str, phases: str, report) -> list[str]:
    return [
        *(str(SCHEMATHESIS), "--no-color", "--config-file", str(config), "run", url),
        *("--include-path-regex", f"^{surface}/", "--seed", SEED, "--max-examples", MAX_EXAMPLES),
        *("--checks", CHECKS, "--phases", phases, "--workers", "1", "--request-timeout", "30"),
        *("--report", "json", "--report-json-path", str(report)),
    ]


# About two minutes on an idle 2-core machine; the margin is for a busy one (`make fuzz`: none).
@pytest.mark.timeout(int(os.environ.get("FUZZ_TIMEOUT", "600")))
def test_every_operation_answers_as_the_document_says(server, tmp_path):
    base, server_log = server
    member = MemberFactory(username="fuzzer", organisation=OrganisationFactory(slug="fuzz"))
    # The built-in insureright/scoring: the documented examples reach the submission paths.
    from profiling.services import install_builtin_solutions

    install_builtin_solutions()
    _, token = create_api_token(user=member)
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    env = {**os.environ, "FUZZ_TOKEN": token, "FUZZ_USERNAME": "fuzzer", "FUZZ_PASSWORD": PASSWORD}

    document = httpx.get(f"{base}/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}).json()
    surfaces = [s for s in SURFACES if any(path.startswith(f"{s}/") for path in document["paths"])]
    assert "/v1" in surfaces and "/ecc" in surfaces

    problems, counts = [], {}
    for surface in surfaces:
        report = tmp_path / f"report{surface.replace('/', '-')}.json"
        run = subprocess.run(
            _schemathesis(
                tmp_path / "schemathesis.toml", f"{base}/api/schema/", surface, _phases(document, surface), report
            ),
            cwd=tmp_path,  # its cache and hypothesis database stay out of the repository
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        outcome = json.loads(report.read_text()) if report.exists() else {}
        counts[surface] = outcome.get("test_cases", {}).get("generated", 0)
        operations = outcome.get("operations", {})
        if run.returncode != 0 or operations.get("tested") != operations.get("selected"):
            problems.append(f"--- {surface}: exit {run.returncode}\n{run.stdout[-20000:]}\n{run.stderr[-3000:]}")
    print(f"cases per surface (seed {SEED}, {MAX_EXAMPLES} examples per operation, {PHASES}): {counts}")
    assert not problems, "\n".join(problems) + "\n--- server log\n" + server_log.read_text()[-10000:]
    assert all(counts.values()), counts

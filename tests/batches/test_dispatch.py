"""batches.dispatch: the services wake the tasks by name, so they never import batches.tasks."""

import ast
from pathlib import Path

import batches
from batches import dispatch
from batchplatform.celery import app


def test_every_task_the_services_send_is_registered_in_the_web_process_too():
    assert app.tasks[dispatch.ADVANCE_BATCH].name == dispatch.ADVANCE_BATCH
    assert app.tasks[dispatch.PROVISION_ORDER].name == dispatch.PROVISION_ORDER


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_services_dispatch_and_selectors_never_import_the_tasks():
    root = Path(batches.__file__).parent
    for path in [*root.joinpath("services").glob("*.py"), root / "dispatch.py", root / "selectors.py"]:
        assert "batches.tasks" not in imported_modules(path), path


def test_the_advance_message_goes_to_the_batches_queue(monkeypatch):
    sent = []
    monkeypatch.setattr(app, "send_task", lambda name, args=None, *rest, **options: sent.append((name, args)))
    dispatch.enqueue_advance("b-1")
    assert sent == [(dispatch.ADVANCE_BATCH, ("b-1",))]  # by name, through the task's own .delay
    route = app.amqp.router.route({}, dispatch.ADVANCE_BATCH, args=("b-1",))
    assert route["queue"].name == "batches"

"""Solutions defined from files (`manage.py definesolution`), the built-in insureright solution
installed platform-wide after migrate, and the validation of nodes with clear errors."""

import json

import pytest
from django.core.management import CommandError, call_command

from batchplatform.errors import Invalid
from plugins import selectors as plugin_selectors
from profiling import selectors, services
from profiling.models import Solution, SubmissionType
from tests.profiling.conftest import NODES

pytestmark = pytest.mark.django_db


def definition(processor, **changes) -> dict:
    document = {
        "solution": "manage",
        "description": "claims",
        "releases": [
            {
                "version": "1.2.0",
                "current_from": "2026-03-01",
                "submission_types": [
                    {"name": "claim_detail", "max_bad_share": 0.1, "processor": processor, "nodes": NODES}
                ],
            }
        ],
    }
    document.update(changes)
    return document


def write(tmp_path, document, name="solution.yaml") -> str:
    import yaml

    path = tmp_path / name
    path.write_text(json.dumps(document) if name.endswith(".json") else yaml.safe_dump(document))
    return str(path)


def test_definesolution_creates_then_updates_a_solution_from_yaml(tmp_path, processor, capsys):
    path = write(tmp_path, definition({"instance": processor.pk}))
    call_command("definesolution", path)
    assert "manage 1.2.0 current from 2026-03-01: claim_detail" in capsys.readouterr().out
    submission_type = SubmissionType.objects.get(name="claim_detail")
    assert (submission_type.max_bad_share, submission_type.processor_id) == (0.1, processor.pk)
    assert submission_type.nodes[0]["columns"][0] == {
        "name": "original_policy_term_number",
        "type": "text",
        "required": True,
    }
    changed = definition({"instance": processor.pk})
    changed["releases"][0]["submission_types"][0]["max_bad_share"] = 0.2
    call_command("definesolution", write(tmp_path, changed, "solution.json"))
    assert SubmissionType.objects.get().max_bad_share == 0.2
    assert Solution.objects.count() == 1


def test_a_processor_may_be_named_by_organisation_and_instance_name(tmp_path, organisation, processor):
    reference = {"organisation": processor.organisation.slug, "name": processor.name}
    call_command("definesolution", write(tmp_path, definition(reference, organisation="acme")))
    solution = Solution.objects.get()
    assert (solution.organisation.slug, SubmissionType.objects.get().processor_id) == ("acme", processor.pk)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"releases": []}, "releases must be a non-empty list"),
        ({"colour": "red"}, "the document has unknown keys: colour"),
        ({"solution": "Insure Right"}, "A solution's name must be lower-case"),
        ({"organisation": "nobody"}, "no organisation 'nobody'"),
        ({"releases": [{"version": "1.0", "current_from": "2026-01-01"}]}, "A release version is x.y.z"),
        ({"releases": [{"version": "1.0.0", "current_from": "soon"}]}, "current_from must be a date"),
        ({"releases": [{"version": "1.0.0"}]}, "releases[0] needs current_from"),
    ],
)
def test_definesolution_refuses_a_bad_document_saying_what_is_wrong(tmp_path, processor, change, message):
    with pytest.raises(CommandError, match=None) as refused:
        call_command("definesolution", write(tmp_path, definition({"instance": processor.pk}, **change)))
    assert message in str(refused.value)
    assert not Solution.objects.exists()


@pytest.mark.parametrize(
    ("processor_reference", "message"),
    [
        ({"instance": 999999}, "no integration batch instance 999999"),
        ({"instance": "1"}, "no integration batch instance '1'"),
        ({"organisation": "acme", "name": "nope"}, "acme has no instance named 'nope'"),
        ({"builtin": "../secrets"}, "builtin must name a folder of examples/plugins/"),
        ({"builtin": "no-such-plugin"}, "examples/plugins/no-such-plugin does not exist"),
        ("scorer", "processor must be"),
    ],
)
def test_definesolution_refuses_an_unknown_processor(tmp_path, organisation, processor_reference, message):
    with pytest.raises(CommandError) as refused:
        call_command("definesolution", write(tmp_path, definition(processor_reference)))
    assert message in str(refused.value)


def test_a_processor_of_another_customer_is_refused(tmp_path, organisation, other_organisation, processor):
    from plugins import services as plugin_services
    from tests.plugins.runs import plugin_instance, plugin_version

    plugin = plugin_services.create_plugin(
        organisation=other_organisation, plugin_type="INTEGRATION_BATCH", group_id="g", artifact_id="theirs"
    )
    theirs = plugin_instance(other_organisation, None, plugin_version(plugin, {"main.py": "x = 1\n"}, "main:run"))
    with pytest.raises(CommandError, match="belongs to another organisation"):
        call_command("definesolution", write(tmp_path, definition({"instance": theirs.pk}, organisation="acme")))


def test_definesolution_refuses_a_file_that_is_missing_or_not_yaml(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("definesolution", str(tmp_path / "missing.yaml"))
    (tmp_path / "broken.yaml").write_text("solution: [unclosed\n")
    with pytest.raises(CommandError, match="not valid YAML"):
        call_command("definesolution", str(tmp_path / "broken.yaml"))
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(CommandError, match="must be a mapping"):
        call_command("definesolution", str(tmp_path / "list.json"))
    (tmp_path / "latin1.yaml").write_bytes("solution: caf\xe9\n".encode("latin-1"))
    with pytest.raises(CommandError, match="not UTF-8 text"):
        call_command("definesolution", str(tmp_path / "latin1.yaml"))


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([], "nodes must be a non-empty list"),
        ([{"node": "policy", "columns": []}], "nodes[0].node must be one of insured, class"),
        ([{"node": "insured", "columns": []}, {"node": "insured", "columns": []}], "node insured is declared twice"),
        ([{"node": "insured", "columns": [{"name": "a", "type": "money"}]}], ".type must be one of text, integer"),
        ([{"node": "insured", "columns": [{"name": "a"}, {"name": "A"}]}], "column A is declared twice"),
        ([{"node": "insured", "columns": [{"name": "a", "required": "yes"}]}], ".required must be true or false"),
        ([{"node": "insured", "columns": [{"name": ""}]}], ".name must be a column name"),
        ([{"node": "insured", "colums": []}], "nodes[0] has unknown keys: colums"),
        ("insured", "nodes must be a non-empty list"),
    ],
)
def test_nodes_are_validated_with_errors_that_name_the_place(nodes, message):
    with pytest.raises(Invalid) as refused:
        services.validate_nodes(nodes)
    assert message in refused.value.message


def test_the_current_release_is_the_latest_whose_day_has_come(solution, organisation):
    import datetime

    assert selectors.release_for(solution=solution, version=None).version == "1.0.0"
    assert selectors.release_for(solution=solution, version=None, today=datetime.date(2999, 1, 1)).version == "2.0.0"
    assert selectors.release_for(solution=solution, version=None, today=datetime.date(2025, 12, 31)) is None
    assert selectors.release_for(solution=solution, version="2.0.0").version == "2.0.0"


def test_the_built_in_insureright_solution_is_installed_platform_wide_and_idempotently(media):
    [solution] = services.install_builtin_solutions()
    assert (solution.name, solution.organisation) == ("insureright", None)
    release = solution.releases.get()
    assert (release.version, str(release.current_from)) == ("1.0.0", "2026-01-01")
    scoring = release.submission_types.get(name="scoring")
    processor = plugin_selectors.get_instance_by_id(scoring.processor_id)
    assert processor.organisation.slug == "platform" and processor.name == "insureright-scoring"
    insured = {column["name"]: column for column in scoring.nodes[0]["columns"]}
    assert insured["term_effective_date"] == {"name": "term_effective_date", "type": "date", "required": True}
    services.install_builtin_solutions()
    assert SubmissionType.objects.get().processor_id == processor.pk
    assert not processor.organisation.memberships.exists()  # not a customer: nobody logs in as it


@pytest.mark.django_db(transaction=True)
def test_the_built_in_solution_survives_a_database_flush(settings, media):
    settings.SOLUTIONS_INSTALL_BUILTIN = True
    call_command("flush", interactive=False, verbosity=0)
    assert Solution.objects.filter(name="insureright", organisation__isnull=True).exists()


def test_nobody_can_join_the_platforms_own_organisation(media):
    from django.core.exceptions import ValidationError

    from batchplatform.services import create_api_user

    services.install_builtin_solutions()
    platform = services.platform_organisation()
    assert platform.internal  # its executions read every customer's batches
    with pytest.raises(ValidationError, match="platform's own organisation"):
        create_api_user(organisation=platform, username="mallory")
    with pytest.raises(CommandError, match="platform's own organisation"):
        call_command("createapiuser", platform.slug, "mallory")
    assert not platform.memberships.exists()


def test_a_customer_organisation_of_the_same_slug_is_never_used_for_the_built_ins(media):
    from batchplatform.errors import Conflict
    from batchplatform.services import create_api_user, create_organisation

    customer = create_organisation(slug="platform")
    create_api_user(organisation=customer, username="someone")
    with pytest.raises(Conflict, match="SOLUTIONS_PLATFORM_ORGANISATION"):
        services.install_builtin_solutions()
    customer.refresh_from_db()
    assert not customer.internal

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from batchplatform.models import ApiToken, Organisation
from batchplatform.services import authenticate_api_token


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_a_script_can_create_an_organisation_a_user_and_a_token(db):
    organisation_id = run("createorganisation", "acme", "--name", "Acme Corp").strip()
    organisation = Organisation.objects.get(pk=organisation_id)
    assert organisation.name == "Acme Corp"

    password = run("createapiuser", "acme", "alice").strip()
    user = authenticate(username="alice", password=password)
    assert user.membership.organisation == organisation

    token_output = run("createapitoken", "alice")
    assert token_output.count("\n") == 1  # the token alone on its own line
    token = authenticate_api_token(token_output.strip())
    assert token.user == user
    assert ApiToken.objects.get().digest != token_output.strip()


def test_a_given_password_is_not_printed(db):
    run("createorganisation", "acme")
    assert run("createapiuser", "acme", "bob", "--password", "a-long-enough-password") == ""
    assert authenticate(username="bob", password="a-long-enough-password")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["createapiuser", "nope", "carol"], "No organisation 'nope'"),
        (["createapitoken", "nobody"], "No user 'nobody'"),
        (["createorganisation", "Not A Slug"], "slug"),
    ],
)
def test_commands_fail_with_a_clear_message(db, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_duplicate_organisations_and_users_are_refused(db):
    run("createorganisation", "acme")
    with pytest.raises(CommandError, match="already exists"):
        run("createorganisation", "acme")
    run("createapiuser", "acme", "alice")
    with pytest.raises(CommandError, match="already exists"):
        run("createapiuser", "acme", "alice")


def test_ensureadmin_creates_one_admin_once(db):
    first = run("ensureadmin")
    assert "Admin account created" in first and "password" in first
    assert "exists" in run("ensureadmin")

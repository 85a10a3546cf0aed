import secrets

import pytest
from django.core.exceptions import ImproperlyConfigured

from batchplatform.env import env_bool, env_int, env_list
from batchplatform.storage_url import storage_from_url
from tests.processes import embedded_env, manage


def test_booleans_are_parsed_strictly(monkeypatch):
    monkeypatch.setenv("FLAG", "yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "Off")
    assert env_bool("FLAG", True) is False
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG")


def test_integers_are_parsed_strictly(monkeypatch):
    monkeypatch.setenv("PORT_X", "80a")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("PORT_X", 1)
    monkeypatch.setenv("PORT_X", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("PORT_X", 1, minimum=1)
    monkeypatch.setenv("HOSTS", " a.example, b.example ,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_storage_url_names_an_s3_bucket_and_its_options():
    storage = storage_from_url("s3://files/batches?endpoint_url=http://127.0.0.1:9000&region_name=eu-west-1")
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"] == {
        "bucket_name": "files",
        "location": "batches",
        "file_overwrite": False,
        "endpoint_url": "http://127.0.0.1:9000",
        "region_name": "eu-west-1",
    }
    with pytest.raises(ImproperlyConfigured, match="option 'colour' is unknown"):
        storage_from_url("s3://files?colour=blue")
    with pytest.raises(ImproperlyConfigured, match="not supported"):
        storage_from_url("ftp://files")


def production_env(tmp_path, **extra):
    return embedded_env(
        tmp_path,
        DATABASE_URL="postgres://bp:secret@db.internal:5432/batchplatform",
        CELERY_BROKER_URL="redis://redis.internal:6379/1",
        CHANNEL_LAYER_URL="redis://redis.internal:6379/2",
        **extra,
    )


def test_production_settings_pass_check_deploy(tmp_path):
    env = production_env(
        tmp_path, SECRET_KEY=secrets.token_urlsafe(50), HTTPS="true", ALLOWED_HOSTS="batch.example.com"
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = manage("check", env=production_env(tmp_path), check=False)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_malformed_variable_stops_the_start_with_its_name(tmp_path):
    result = manage("check", env=embedded_env(tmp_path, DEBUG="perhaps"), check=False)
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


PROBE = """
from django.conf import settings
from django.db import connection
with connection.cursor() as c:
    c.execute('PRAGMA journal_mode'); print('journal', c.fetchone()[0])
    c.execute('PRAGMA busy_timeout'); print('busy', c.fetchone()[0])
print('broker', settings.CELERY_BROKER_URL)
print('layer', settings.CHANNEL_LAYERS['default']['BACKEND'])
print('key', settings.SECRET_KEY)
print('media', settings.STORAGES['default']['OPTIONS']['location'])
"""


def test_the_embedded_default_needs_no_server_and_keeps_its_state_in_the_data_dir(tmp_path):
    data_dir = tmp_path / "data"
    env = embedded_env(data_dir)
    manage("migrate", "--noinput", env=env)
    first = probe(env)
    assert first["journal"] == "wal"
    assert int(first["busy"]) >= 1000
    assert first["broker"] == "safefs://"
    assert first["layer"] == "channels.layers.InMemoryChannelLayer"
    assert first["media"] == str(data_dir / "media")
    assert (data_dir / "db.sqlite3").exists()
    assert (data_dir / "broker").is_dir()
    # The generated secret key is kept, so sessions survive a restart.
    second = probe(env)
    assert second["key"] == first["key"] == (data_dir / "secret_key").read_text().strip()


def probe(env) -> dict:
    output = manage("shell", "--no-imports", "-c", PROBE, env=env).stdout
    return dict(line.split(" ", 1) for line in output.splitlines() if " " in line)


def test_a_cache_url_shares_the_cache_between_processes(tmp_path):
    import os

    env = embedded_env(tmp_path, CACHE_URL=os.environ["REDIS_URL"] + "/3")
    manage("shell", "--no-imports", "-c", "from django.core.cache import cache; cache.set('shared', 42)", env=env)
    read = "from django.core.cache import cache; print(cache.get('shared'))"
    assert manage("shell", "--no-imports", "-c", read, env=env).stdout.strip() == "42"

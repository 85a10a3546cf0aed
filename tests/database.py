"""The test database seen from outside Django: as another process (or PostgreSQL itself) sees it."""

import psycopg
from django.db import connection


def outside_connection() -> psycopg.Connection:
    """A plain psycopg connection to the test database, not Django's nor its pool's."""
    params = connection.get_connection_params()
    for option in ("pool", "context", "cursor_factory", "prepare_threshold"):
        params.pop(option, None)
    return psycopg.connect(**params, autocommit=True)


def end_the_connection_from_the_server() -> None:
    """What a PostgreSQL restart does to Django's current connection: the server ends it."""
    connection.ensure_connection()
    with outside_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])

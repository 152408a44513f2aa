import asyncio
import socket

import pytest

from app.database import Database, database_from_env, redact


def closed_port():
    """A local port nothing listens on: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_no_database_without_database_url():
    assert database_from_env({}) is None
    assert database_from_env({"DATABASE_URL": ""}) is None
    assert database_from_env({"DATABASE_URL": "postgresql://db/app"}).url == (
        "postgresql://db/app"
    )


def test_check_raises_without_the_password_when_the_database_is_unreachable():
    url = f"postgresql://app:s3cret-pw@127.0.0.1:{closed_port()}/app?sslmode=disable"
    database = Database(url, timeout=2)
    with pytest.raises(ConnectionError) as raised:
        asyncio.run(database.check())
    assert "s3cret-pw" not in str(raised.value)
    assert str(raised.value)


def test_redact_removes_the_url_and_its_password():
    url = "postgresql://app:p%40ss@db.internal:5432/app"
    assert redact(f"cannot parse {url}", url) == "cannot parse ***"
    assert redact("password p@ss was refused", url) == "password *** was refused"
    assert redact("no secrets here", "not a url") == "no secrets here"

"""The service's PostgreSQL database, when DATABASE_URL is set."""

import asyncio
import os
from urllib.parse import unquote, urlsplit

import psycopg


def redact(message: str, url: str) -> str:
    """Removes the connection URL, and the password in it, from a message, so
    that error messages can be logged without leaking credentials."""
    text = str(message)
    secrets = [url]
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        secrets += [password, unquote(password)]
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class Database:
    """`check()` runs `SELECT 1` on a fresh connection and raises when the
    database cannot answer within `timeout` seconds. A health check every
    few seconds needs no pool; for your own queries add `psycopg_pool`
    (see the README)."""

    def __init__(self, url: str, timeout: float = 2.0):
        self.url = url
        self.timeout = timeout

    async def _select_one(self) -> None:
        connection = await psycopg.AsyncConnection.connect(
            self.url, connect_timeout=max(2, int(self.timeout))
        )
        async with connection:
            await connection.execute("SELECT 1")

    async def check(self) -> None:
        try:
            await asyncio.wait_for(self._select_one(), self.timeout)
        except asyncio.TimeoutError:
            raise ConnectionError(
                f"no answer from the database within {self.timeout} s"
            ) from None
        except Exception as error:
            # One line, without the URL or its password.
            message = " ".join(redact(str(error), self.url).split())
            raise ConnectionError(message or type(error).__name__) from None


def database_from_env(environ=os.environ):
    """The database named by DATABASE_URL, or None when it is not set."""
    url = environ.get("DATABASE_URL")
    return Database(url) if url else None

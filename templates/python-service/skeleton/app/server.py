"""Starts the HTTP server: `python -m app.server`.

It listens on PORT (default ${{ values.port }}). On SIGTERM or SIGINT it
stops accepting connections, lets in-flight requests finish, then exits with
status 0 (or 1 if they are still running after SHUTDOWN_TIMEOUT_MS).
"""

import asyncio
import os
import signal
import sys

import uvicorn

from app.database import database_from_env
from app.logger import Logger, route_library_logs
from app.main import create_app

#: The port chosen when the service was created; PORT overrides it.
DEFAULT_PORT = int("${{ values.port }}")


class Server(uvicorn.Server):
    """uvicorn's server, logging `listening` and `shutting down` like the
    other golden-path services, and giving up on in-flight requests after
    `shutdown_timeout` seconds (then `clean` is False)."""

    def __init__(self, config: uvicorn.Config, logger: Logger, shutdown_timeout: float):
        super().__init__(config)
        self.logger = logger
        self.shutdown_timeout = shutdown_timeout
        self.port = None
        self.clean = True
        self.exit_reason = None

    async def startup(self, *args, **kwargs):
        await super().startup(*args, **kwargs)
        if self.started and not self.should_exit:
            self.port = self.servers[0].sockets[0].getsockname()[1]
            self.logger.info("listening", {"port": self.port})

    def handle_exit(self, sig, frame):
        # May run inside a signal handler: only note why; shutdown() logs it.
        if self.exit_reason is None:
            self.exit_reason = signal.Signals(sig).name if sig else "shutdown"
        super().handle_exit(sig, frame)

    async def shutdown(self, *args, **kwargs):
        self.logger.info("shutting down", {"reason": self.exit_reason or "shutdown"})
        try:
            await asyncio.wait_for(
                super().shutdown(*args, **kwargs), self.shutdown_timeout
            )
        except asyncio.TimeoutError:
            self.clean = False
            self.logger.error(
                "unclean shutdown",
                {
                    "error": "requests still running after "
                    f"{round(self.shutdown_timeout * 1000)} ms"
                },
            )
            # Cut the connections that are still open.
            for connection in list(self.server_state.connections):
                transport = getattr(connection, "transport", None)
                if transport is not None:
                    transport.close()


def create_server(
    port: int = None,
    logger: Logger = None,
    shutdown_timeout: float = None,
    database="env",
    **app_options,
) -> Server:
    """The server, not yet started: call `run()` (blocks until it has shut
    down) and `handle_exit(signal.SIGTERM, None)` to stop it. The database
    comes from DATABASE_URL unless one (or None) is passed in."""
    if port is None:
        port = int(os.environ.get("PORT") or DEFAULT_PORT)
    logger = logger or Logger()
    if shutdown_timeout is None:
        shutdown_timeout = int(os.environ.get("SHUTDOWN_TIMEOUT_MS") or 10000) / 1000
    if database == "env":
        database = database_from_env()
    app = create_app(logger=logger, database=database, **app_options)
    config = uvicorn.Config(
        app,
        host="0.0.0.0",
        port=port,
        # Logging is ours: JSON lines, one `request` line per request.
        log_config=None,
        access_log=False,
        server_header=False,
    )
    return Server(config, logger=logger, shutdown_timeout=shutdown_timeout)


def main() -> int:
    logger = Logger()
    route_library_logs(logger)
    server = create_server(logger=logger)
    # A signal that arrives before uvicorn takes over still stops the server;
    # and uvicorn versions that re-raise the signal after a graceful shutdown
    # reach this handler again, not the default one that would kill the
    # process before it logs "stopped".
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, server.handle_exit)
    server.run()
    if not server.clean:
        return 1
    logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

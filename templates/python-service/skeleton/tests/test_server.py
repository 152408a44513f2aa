import asyncio
import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from fastapi import APIRouter

from app.logger import Logger
from app.server import create_server


class Lines(list):
    def write(self, text):
        self.extend(json.loads(line) for line in text.splitlines())


def wait_for(condition, what, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def start(routes, **options):
    """Runs the server on a free port in a thread, as `main()` would."""
    lines = Lines()
    server = create_server(
        port=0, logger=Logger(stream=lines), routes=routes, database=None, **options
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.port is not None or not thread.is_alive(), "listening")
    assert server.port is not None, "the server did not start"
    return server, thread, lines


def in_background(fn):
    """Runs `fn` in a thread; the returned dict gets its result or error."""
    outcome = {}

    def target():
        try:
            outcome["result"] = fn()
        except Exception as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    outcome["thread"] = thread
    return outcome


def refuses_connections(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_finishes_in_flight_requests_then_stops_accepting_connections():
    entered, release = threading.Event(), threading.Event()
    routes = APIRouter()

    @routes.get("/slow")
    async def slow():
        entered.set()
        while not release.is_set():
            await asyncio.sleep(0.01)
        return {"done": True}

    server, thread, lines = start(routes)
    url = f"http://127.0.0.1:{server.port}"
    in_flight = in_background(
        lambda: json.load(urllib.request.urlopen(f"{url}/slow", timeout=10))
    )
    assert entered.wait(10)

    server.handle_exit(signal.SIGTERM, None)
    wait_for(lambda: refuses_connections(server.port), "new connections refused")
    release.set()

    in_flight["thread"].join(10)
    assert in_flight.get("result") == {"done": True}
    thread.join(10)
    assert not thread.is_alive()
    assert server.clean
    assert [line["msg"] for line in lines] == ["listening", "shutting down", "request"]
    assert lines[1]["reason"] == "SIGTERM"


def test_gives_up_after_the_timeout_when_a_request_never_finishes():
    entered = threading.Event()
    routes = APIRouter()

    @routes.get("/hang")
    async def hang():
        entered.set()
        await asyncio.Event().wait()

    server, thread, lines = start(routes, shutdown_timeout=0.2)
    hanging = in_background(
        lambda: urllib.request.urlopen(
            f"http://127.0.0.1:{server.port}/hang", timeout=10
        )
    )
    assert entered.wait(10)
    server.handle_exit(signal.SIGTERM, None)
    thread.join(10)
    assert not thread.is_alive()
    assert server.clean is False
    assert any(
        line["msg"] == "unclean shutdown"
        and line["error"] == "requests still running after 200 ms"
        for line in lines
    )
    hanging["thread"].join(10)
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        raise hanging["error"]

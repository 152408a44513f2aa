"""Builds the FastAPI application. Every dependency can be replaced, which
keeps the tests free of global state."""

import time
import traceback

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from app import SERVICE_NAME
from app.logger import Logger
from app.metrics import Metrics, route_label
from app.routes import router as default_routes


def _url(scope) -> str:
    url = scope.get("root_path", "") + scope["path"]
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{url}?{query}" if query else url


class ObserveRequests:
    """ASGI middleware: counts and times every request, writes one `request`
    log line once it has been answered, and turns an unhandled exception into
    a logged 500 answer."""

    def __init__(self, app, logger: Logger, metrics: Metrics):
        self.app = app
        self.logger = logger
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        response = {"status": 500, "started": False}

        async def send_and_watch(message):
            if message["type"] == "http.response.start":
                response.update(status=message["status"], started=True)
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        except Exception as error:
            response["status"] = 500
            self.logger.error(
                "request failed",
                {
                    "url": _url(scope),
                    "error": str(error),
                    "stack": traceback.format_exc(),
                },
            )
            # Too late for a JSON answer: let the server close the connection.
            if response["started"]:
                raise
            answer = JSONResponse({"error": "Internal Server Error"}, status_code=500)
            await answer(scope, receive, send)
        finally:
            seconds = time.perf_counter() - start
            route = route_label(scope)
            status = response["status"]
            self.metrics.observe(scope["method"], route, status, seconds)
            self.logger.info(
                "request",
                {
                    "method": scope["method"],
                    "url": _url(scope),
                    "route": route,
                    "status": status,
                    "durationMs": round(seconds * 1000, 3),
                },
            )


def create_app(
    logger: Logger = None,
    metrics: Metrics = None,
    routes: APIRouter = None,
    database=None,
) -> FastAPI:
    """The application. `database` (see app/database.py) is optional:
    without it /health reports only the process."""
    logger = logger or Logger()
    metrics = metrics or Metrics()
    app = FastAPI(title=SERVICE_NAME)

    @app.get("/health")
    async def health():
        if database is None:
            return {"status": "ok"}
        try:
            await database.check()
        except Exception as error:
            # The reason goes to the log only; the answer names no host or user.
            logger.warn("database check failed", {"error": str(error)})
            return JSONResponse(
                {"status": "degraded", "database": "unreachable"}, status_code=503
            )
        return {"status": "ok", "database": "ok"}

    @app.get("/metrics")
    async def prometheus_metrics():
        return Response(metrics.render(), media_type=metrics.content_type)

    app.include_router(routes if routes is not None else default_routes)

    @app.exception_handler(HTTPException)
    async def http_error(_request, error: HTTPException):
        return JSONResponse(
            {"error": error.detail},
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    app.add_middleware(ObserveRequests, logger=logger, metrics=metrics)
    return app

"""Prometheus metrics for the service: process and Python runtime metrics
plus the RED metrics (rate, errors, duration) of every HTTP request."""

import prometheus_client
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

LABELS = ("method", "route", "status")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

#: The route label of requests that matched no route.
UNMATCHED = "unmatched"


def route_label(scope) -> str:
    """The label for the route that handled a request: the route template
    (for example `/orders/{order_id}`), never the raw path, so that the
    number of time series stays bounded. Requests that matched no route are
    `unmatched`."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class Metrics:
    """The service's metrics, in a registry of their own (which keeps tests
    independent of each other)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry=None):
        # One `_created` series per label set doubles the series for nothing
        # (prometheus-client 0.17 and newer can leave them out).
        if hasattr(prometheus_client, "disable_created_metrics"):
            prometheus_client.disable_created_metrics()
        self.registry = registry or CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests handled, by method, matched route and status code.",
            LABELS,
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer HTTP requests in seconds, by method, matched route "
            "and status code.",
            LABELS,
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "http_request_errors_total",
            "HTTP requests answered with a 5xx status code, by method, matched "
            "route and status code.",
            LABELS,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        labels = {"method": method, "route": route, "status": str(status)}
        self.requests.labels(**labels).inc()
        self.duration.labels(**labels).observe(seconds)
        if status >= 500:
            self.errors.labels(**labels).inc()

    def render(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)

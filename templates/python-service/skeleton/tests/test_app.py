import re

from fastapi import APIRouter


class FakeDatabase:
    def __init__(self, error=None):
        self.error = error
        self.checks = 0

    async def check(self):
        self.checks += 1
        if self.error:
            raise self.error


def test_health_answers_status_ok(setup):
    res = setup().client.get("/health")
    assert res.status_code == 200
    assert res.json() == {"status": "ok"}


def test_writes_one_json_log_line_per_request(setup):
    s = setup()
    s.client.get("/health")
    assert len(s.lines) == 1
    assert s.lines[0]["level"] == "info"
    assert {k: s.lines[0][k] for k in ("msg", "method", "url", "route", "status")} == {
        "msg": "request",
        "method": "GET",
        "url": "/health",
        "route": "/health",
        "status": 200,
    }
    assert s.lines[0]["durationMs"] >= 0


def test_health_reports_a_working_database(setup):
    database = FakeDatabase()
    res = setup(database=database).client.get("/health")
    assert res.status_code == 200
    assert res.json() == {"status": "ok", "database": "ok"}
    assert database.checks == 1


def test_health_answers_503_degraded_when_the_database_is_unreachable(setup):
    database = FakeDatabase(ConnectionError("connection to 10.0.0.7 refused"))
    s = setup(database=database)
    res = s.client.get("/health")
    assert res.status_code == 503
    assert res.json() == {"status": "degraded", "database": "unreachable"}
    assert "10.0.0.7" not in res.text
    assert s.lines[0]["level"] == "warn"
    assert s.lines[0]["msg"] == "database check failed"
    assert s.lines[0]["error"] == "connection to 10.0.0.7 refused"
    assert s.lines[1]["msg"] == "request"
    assert s.lines[1]["status"] == 503


def test_metrics_exposes_process_metrics_and_counts_requests_by_route(setup):
    s = setup()
    assert s.client.get("/health").status_code == 200
    res = s.client.get("/metrics")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/plain")
    assert "process_cpu_seconds_total" in res.text
    assert re.search(
        r'^http_requests_total\{method="GET",route="/health",status="200"\} 1\.0$',
        res.text,
        re.M,
    )
    assert re.search(
        r"^http_request_duration_seconds_count"
        r'\{method="GET",route="/health",status="200"\} 1\.0$',
        res.text,
        re.M,
    )
    assert re.search(r"^# TYPE http_request_errors_total counter$", res.text, re.M)


def test_labels_requests_with_the_route_template_not_the_path(setup):
    routes = APIRouter()

    @routes.get("/orders/{order_id}")
    async def order(order_id: str):
        return {"id": order_id}

    s = setup(routes=routes)
    assert s.client.get("/orders/1").json() == {"id": "1"}
    assert s.client.get("/orders/2").status_code == 200
    assert (
        s.sample("http_requests_total", route="/orders/{order_id}", status="200") == 2
    )


def test_counts_5xx_answers_as_errors(setup):
    routes = APIRouter()

    @routes.get("/boom")
    async def boom():
        raise RuntimeError("boom")

    s = setup(routes=routes)
    res = s.client.get("/boom")
    assert res.status_code == 500
    assert res.json() == {"error": "Internal Server Error"}
    assert s.sample("http_request_errors_total", route="/boom", status="500") == 1
    assert any(
        line["level"] == "error" and line["error"] == "boom" for line in s.lines
    )
    assert s.lines[-1]["msg"] == "request"
    assert s.lines[-1]["status"] == 500


def test_unknown_paths_answer_404_and_are_counted_as_unmatched(setup):
    s = setup()
    res = s.client.get("/no/such/path?x=1")
    assert res.status_code == 404
    assert res.json() == {"error": "Not Found"}
    assert s.sample("http_requests_total", route="unmatched", status="404") == 1
    assert s.sample("http_request_errors_total", route="unmatched") == 0
    assert s.lines[0]["url"] == "/no/such/path?x=1"

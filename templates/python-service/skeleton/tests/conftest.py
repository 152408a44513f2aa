import json

import pytest
from fastapi.testclient import TestClient

from app.logger import Logger
from app.main import create_app
from app.metrics import Metrics


class Lines(list):
    """A stream for the logger that keeps each JSON line, parsed."""

    def write(self, text):
        for line in text.splitlines():
            self.append(json.loads(line))


class Setup:
    def __init__(self, routes=None, database=None):
        self.lines = Lines()
        self.metrics = Metrics()
        self.app = create_app(
            logger=Logger(level="debug", stream=self.lines),
            metrics=self.metrics,
            routes=routes,
            database=database,
        )
        self.client = TestClient(self.app)

    def sample(self, name, **labels):
        """The sum of the samples of `name` that carry `labels` (0 if none)."""
        return sum(
            sample.value
            for metric in self.metrics.registry.collect()
            for sample in metric.samples
            if sample.name == name
            and all(sample.labels.get(k) == v for k, v in labels.items())
        )


@pytest.fixture
def setup():
    return Setup

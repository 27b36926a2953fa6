"""Reading `/metrics` as a scraper does: Prometheus's text format parsed into samples."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

# What tests set KAIRAN_METRICS_TOKEN to (at least 32 characters, as the setting requires).
METRICS_TOKEN = "metrics-token-for-tests-0123456789abcdef"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape has none of that name and labels."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(client: Any, token: str = METRICS_TOKEN) -> Samples:
    """GET /metrics with the token, through a Flask test client; the samples."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))

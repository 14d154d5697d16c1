"""Prometheus gauges declared by dashboard panels (fund_scheduler.api.metrics.panel_gauges)."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, generate_latest

from fund_scheduler.api.metrics import panel_gauges


class Collector:
    def __init__(self, panels):
        self.panels = panels

    def collect(self):
        yield from panel_gauges(self.panels)


def scrape(panels) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector(panels))
    return generate_latest(registry).decode()


def test_declared_gauges_are_exported_whatever_the_domain(caplog) -> None:
    panels = [
        {
            "name": "p",
            "gauges": [
                {
                    "name": "shop_queue_length",
                    "help": "Orders waiting",
                    "labels": ["queue"],
                    "samples": [[["north"], 3], [["south"], None]],
                },
                {"name": "shop_open", "help": "1 when open", "labels": [], "samples": [[[], 1]]},
                {"help": "no name"},  # malformed: skipped, logged
                {"name": "shop_open", "samples": [[[], 0]]},  # a second declaration of a name: skipped
            ],
        }
    ]
    with caplog.at_level(logging.WARNING, "scheduler.http"):
        text = scrape(panels)
    assert 'shop_queue_length{queue="north"} 3.0' in text
    assert "south" not in text  # a None sample is left out, the family is still there
    assert "shop_open 1.0" in text and "shop_open 0.0" not in text
    assert "not exported" in caplog.text

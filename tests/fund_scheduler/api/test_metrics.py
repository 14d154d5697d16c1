"""Prometheus gauges declared by dashboard panels (fund_scheduler.api.metrics.panel_gauges) and the
workers' and queues' gauges (worker_gauges)."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, generate_latest

from fund_scheduler.api.metrics import panel_gauges, worker_gauges


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


class WorkerCollector:
    def __init__(self, remote):
        self.remote = remote

    def collect(self):
        yield from worker_gauges(self.remote)


def test_workers_and_queues_are_exported_per_name() -> None:
    remote = {
        "workers": [
            {"name": "cpu1@b", "alive": True, "heartbeat_age_seconds": 2.5, "running": 1},
            {"name": "old@c", "alive": False, "heartbeat_age_seconds": 600.0, "running": 0},
        ],
        "queues": [
            {"name": "cpu", "at_broker": 3, "queued": 1, "running": 1, "workers": ["cpu1@b"]},
            {"name": "io", "at_broker": None, "queued": 2, "running": 0, "workers": []},
        ],
    }
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkerCollector(remote))
    text = generate_latest(registry).decode()
    for line in (
        'fund_scheduler_worker_up{worker="cpu1@b"} 1.0',
        'fund_scheduler_worker_up{worker="old@c"} 0.0',
        'fund_scheduler_worker_heartbeat_age_seconds{worker="cpu1@b"} 2.5',
        'fund_scheduler_worker_running_runs{worker="cpu1@b"} 1.0',
        'fund_scheduler_queue_depth{queue="cpu"} 3.0',
        'fund_scheduler_queue_queued_runs{queue="io"} 2.0',
        'fund_scheduler_queue_running_runs{queue="cpu"} 1.0',
        'fund_scheduler_queue_workers{queue="io"} 0.0',
    ):
        assert line in text, line
    assert 'fund_scheduler_queue_depth{queue="io"}' not in text  # the broker did not say
    assert list(worker_gauges({"broker": None, "workers": [], "queues": []})) == []

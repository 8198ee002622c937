"""Prometheus metrics shared by every service process (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RELAYED = Counter("wanqing_relay_published_total", "Events published by the outbox relay", ["service"])
SET_ASIDE = Gauge("wanqing_relay_set_aside", "Stored events the relay could not publish (set aside)", ["service"])
CONSUMED = Counter("wanqing_consumer_events_total", "Events handled by a consumer", ["consumer", "outcome"])
CONSUMER_LAG = Gauge("wanqing_consumer_lag", "Messages pending for a durable consumer", ["consumer"])
COMMANDS = Counter("wanqing_commands_total", "Commands handled", ["service", "command", "outcome"])
COMMAND_SECONDS = Histogram("wanqing_command_seconds", "Command handling time", ["service", "command"])
TIMERS_FIRED = Counter("wanqing_timers_fired_total", "Durable timers fired", ["service", "kind"])

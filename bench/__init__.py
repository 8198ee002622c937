"""Benchmarks that measure the runtime against raw asyncpg / nats-py baselines on this machine."""

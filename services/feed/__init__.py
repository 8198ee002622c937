"""Feed: each outside agency's redacted feed of the platform's events, on its own NATS account."""

"""Edges: the processes people use the platform through (they hold no domain state)."""

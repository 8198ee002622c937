"""The published language of Wanqing: envelopes, subjects, errors and every message each service speaks."""

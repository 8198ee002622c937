"""A demo district (generated, deterministic by seed) and `wanqing demo`: a quarter of the platform at work."""

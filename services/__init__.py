"""Wanqing's services; each imports `contracts` and `backbone`, never another service."""

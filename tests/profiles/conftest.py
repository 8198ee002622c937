from tests.slice.conftest import platform

__all__ = ["platform"]

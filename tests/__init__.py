"""cachecar test suite (real servers, see conftest.py)."""

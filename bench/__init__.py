"""cachecar's benchmark: ``python -m bench`` prints one table of ratios measured in one run.

Not a test: it never fails on a timing. See bench/README.md.
"""

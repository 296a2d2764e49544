"""Contract suites: one per capability, run against every component that declares it.

Modelled on dogpile.cache's generic backend tests and Dapr's conformance
tests: a suite is written once, against an interface; the components it runs
against are computed from their declarations (``components.py``), so a
component that declares an interface must pass its suite and one that does
not must answer NOT_SUPPORTED_BY_BACKEND (``test_unsupported.py``).
"""

"""Operator tools around a running or deployed sidecar: ``inject`` and ``top``.

Nothing here is imported by the server: these are command-line helpers for
platform teams (Kubernetes manifests, a live terminal view of /metrics).
"""

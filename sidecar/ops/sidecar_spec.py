"""The cachecar native sidecar as Kubernetes objects: one place that says what it is.

``cachecar inject`` writes these into pod templates, and the kustomize
Component in ``deploy/kubernetes/components/cachecar`` carries the same
container (a test renders both and compares them). The listeners are pinned
through ``CACHECAR_*_LISTEN`` so the probes, the metrics port and the app's
``CACHECAR_TARGET`` agree whatever the mounted config file says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "API_TARGET",
    "CONFIG_VOLUME",
    "HEALTH_PORT",
    "INJECTED_LABEL",
    "METRICS_PORT",
    "NAME",
    "TMP_VOLUME",
    "SidecarOptions",
    "app_env",
    "container",
    "volumes",
]

NAME = "cachecar"
API_TARGET = "127.0.0.1:50070"
HEALTH_PORT = 50072
METRICS_PORT = 9464
CONFIG_VOLUME = "cachecar-config"
TMP_VOLUME = "cachecar-tmp"
CONFIG_DIR = "/etc/cachecar"
#: Pod label that the PodMonitor and the NetworkPolicy select on.
INJECTED_LABEL = ("cachecar.io/sidecar", "injected")
DEFAULT_IMAGE = "ghcr.io/example/cachecar:0.1.0"

Doc = dict[str, Any]


@dataclass(frozen=True)
class SidecarOptions:
    """What a team chooses when it adds the sidecar; the rest is fixed."""

    image: str = DEFAULT_IMAGE
    config_map: str = "cachecar-config"
    #: A Secret whose key REDIS_PASSWORD becomes the env var REDIS_PASSWORD.
    secret: str | None = None
    workers: int = 1
    requests: dict[str, str] = field(default_factory=lambda: {"cpu": "100m", "memory": "128Mi"})
    limits: dict[str, str] = field(default_factory=lambda: {"cpu": "1", "memory": "256Mi"})


def _probe(period: int, failures: int, timeout: int | None = None) -> Doc:
    probe: Doc = {"grpc": {"port": HEALTH_PORT, "service": ""}, "periodSeconds": period}
    if timeout is not None:
        probe["timeoutSeconds"] = timeout
    probe["failureThreshold"] = failures
    return probe


def _env(options: SidecarOptions) -> list[Doc]:
    env: list[Doc] = [
        {"name": "CACHECAR_LISTEN", "value": API_TARGET},
        {"name": "CACHECAR_HEALTH_LISTEN", "value": f"0.0.0.0:{HEALTH_PORT}"},
        {"name": "CACHECAR_METRICS_LISTEN", "value": f"0.0.0.0:{METRICS_PORT}"},
    ]
    if options.workers > 1:
        env.append({"name": "CACHECAR_WORKERS", "value": str(options.workers)})
    if options.secret:
        ref = {"name": options.secret, "key": "REDIS_PASSWORD"}
        env.append({"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": ref}})
    for name, path in (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")):
        env.append({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
    env += [
        {"name": "OTEL_SERVICE_NAME", "value": NAME},
        {
            "name": "OTEL_RESOURCE_ATTRIBUTES",
            "value": "k8s.pod.name=$(POD_NAME),k8s.namespace.name=$(POD_NAMESPACE),"
            "k8s.container.name=cachecar",
        },
    ]
    return env


def container(options: SidecarOptions) -> Doc:
    """The ``initContainers`` entry: a native sidecar (``restartPolicy: Always``)."""
    return {
        "name": NAME,
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        # Native sidecar: started before the app, stopped after it.
        "restartPolicy": "Always",
        "args": ["serve", "--config", f"{CONFIG_DIR}/cachecar.yaml"],
        "ports": [
            {"name": "cc-health", "containerPort": HEALTH_PORT},
            {"name": "cc-metrics", "containerPort": METRICS_PORT},
        ],
        "env": _env(options),
        # The kubelet starts the app only once this passes.
        "startupProbe": _probe(1, 30),
        "readinessProbe": _probe(5, 2),
        "livenessProbe": _probe(10, 3, timeout=2),
        "resources": {"requests": dict(options.requests), "limits": dict(options.limits)},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": TMP_VOLUME, "mountPath": "/tmp"},  # noqa: S108  (an emptyDir of its own)
        ],
    }


def volumes(options: SidecarOptions) -> list[Doc]:
    return [
        {"name": CONFIG_VOLUME, "configMap": {"name": options.config_map}},
        {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "16Mi"}},
    ]


def app_env() -> Doc:
    """The variable an app container reads to find its sidecar (set only if absent)."""
    return {"name": "CACHECAR_TARGET", "value": API_TARGET}

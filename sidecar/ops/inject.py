"""``cachecar inject``: add the cachecar native sidecar to every pod template.

Reads Kubernetes YAML (files, directories, or stdin; multi-document streams,
``kubectl get -o yaml`` output and ``List`` objects) and writes it back with
the sidecar of :mod:`sidecar.ops.sidecar_spec` in each pod template of a
Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
Job, CronJob or PodTemplate. Everything else passes through unchanged.

Injecting is idempotent: the sidecar, its volumes and the pod label are
written by name (a second run replaces them with identical ones), and an app
container keeps a ``CACHECAR_TARGET`` it already has. What it cannot do
safely it refuses, naming the document and what to fix: a ``cachecar``
container with another image (an upgrade is ``--image`` plus a deliberate
edit, not a silent swap), a regular container named ``cachecar``, a volume
of ours that points somewhere else, a document that is not a Kubernetes
object. YAML comments are not kept (as with ``kubectl get``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from sidecar.ops import sidecar_spec as spec
from sidecar.ops.sidecar_spec import SidecarOptions

__all__ = ["InjectError", "add_arguments", "inject_objects", "inject_text", "run"]

Doc = dict[str, Any]

#: Where the pod spec sits, by kind.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
YAML_SUFFIXES = (".yaml", ".yml", ".json")


class InjectError(ValueError):
    """A document cachecar inject will not change; the message says what to fix."""


def _label(doc: Doc) -> str:
    name = (doc.get("metadata") or {}).get("name", "?")
    return f"{doc.get('kind', '?')}/{name}"


def _walk(doc: Doc, path: tuple[str, ...], where: str) -> Doc:
    node: Any = doc
    for depth, key in enumerate(path):
        node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            missing = ".".join(path[: depth + 1])
            raise InjectError(f"{where}: {missing} is missing or not a mapping")
    found: Doc = node
    return found


def _named_list(pod: Doc, key: str, where: str) -> list[Doc]:
    items = pod.setdefault(key, [])
    if not isinstance(items, list) or not all(
        isinstance(item, dict) and isinstance(item.get("name"), str) for item in items
    ):
        raise InjectError(f"{where}: spec.{key} must be a list of objects with a name")
    return items


def _upsert(items: list[Doc], item: Doc) -> None:
    for index, existing in enumerate(items):
        if existing["name"] == item["name"]:
            items[index] = item
            return
    items.append(item)


def _check_containers(pod: Doc, options: SidecarOptions, where: str) -> list[Doc]:
    """The app containers; refuses a pod whose ``cachecar`` is not ours to replace."""
    containers = _named_list(pod, "containers", where)
    if not containers:
        raise InjectError(f"{where}: spec.containers is empty (a pod needs its app container)")
    if any(c["name"] == spec.NAME for c in containers):
        raise InjectError(
            f"{where}: a regular container is already named {spec.NAME!r}; rename it or "
            "remove it (cachecar runs as a native sidecar in initContainers)"
        )
    for existing in _named_list(pod, "initContainers", where):
        if existing["name"] == spec.NAME and existing.get("image") != options.image:
            raise InjectError(
                f"{where}: initContainer {spec.NAME!r} runs image {existing.get('image')!r}, "
                f"not {options.image!r}; pass --image {existing.get('image')} to keep it, or "
                "remove that container first to change images"
            )
    return containers


def _add_volumes(pod: Doc, options: SidecarOptions, where: str, reinject: bool) -> None:
    volumes = _named_list(pod, "volumes", where)
    for wanted in spec.volumes(options):
        clash = [v for v in volumes if v["name"] == wanted["name"] and v != wanted]
        if clash and not reinject:
            raise InjectError(
                f"{where}: the pod already has a volume named {wanted['name']!r} "
                "that is not cachecar's; rename it"
            )
        _upsert(volumes, wanted)


def _inject_pod(template_meta: Doc, pod: Doc, options: SidecarOptions, where: str) -> None:
    containers = _check_containers(pod, options, where)
    init = pod["initContainers"]
    reinject = any(c["name"] == spec.NAME for c in init)
    _add_volumes(pod, options, where, reinject)
    # First among the init containers: one-shot ones (migrations) may need the cache.
    if reinject:
        _upsert(init, spec.container(options))
    else:
        init.insert(0, spec.container(options))
    for app in containers:
        env = app.setdefault("env", [])
        if not isinstance(env, list):
            raise InjectError(f"{where}: env of container {app['name']!r} must be a list")
        if not any(isinstance(e, dict) and e.get("name") == "CACHECAR_TARGET" for e in env):
            env.append(spec.app_env())
    labels = template_meta.setdefault("labels", {})
    if not isinstance(labels, dict):
        raise InjectError(f"{where}: metadata.labels must be a mapping")
    key, value = spec.INJECTED_LABEL
    labels[key] = value


def inject_object(doc: Doc, options: SidecarOptions, where: str) -> Doc:
    """One Kubernetes object, with the sidecar added if it has a pod template."""
    kind = doc.get("kind")
    if not isinstance(kind, str) or not isinstance(doc.get("apiVersion"), str):
        raise InjectError(f"{where}: not a Kubernetes object (no apiVersion and kind)")
    if kind == "List" or (kind.endswith("List") and isinstance(doc.get("items"), list)):
        items = doc.get("items")
        if not isinstance(items, list):
            raise InjectError(f"{where}: a {kind} needs a list of items")
        doc["items"] = [
            inject_object(item, options, f"{where}, item {i + 1}")
            if isinstance(item, dict)
            else _refuse(f"{where}, item {i + 1}: not a mapping")
            for i, item in enumerate(items)
        ]
        return doc
    path = POD_SPEC_PATHS.get(kind)
    if path is None:
        return doc
    where = f"{where} ({_label(doc)})"
    pod = _walk(doc, path, where)
    # The labels that reach the pods: the template's metadata (a Pod's own).
    template = doc if kind == "Pod" else _walk(doc, path[:-1], where)
    meta = template.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise InjectError(f"{where}: the pod template's metadata must be a mapping")
    _inject_pod(meta, pod, options, where)
    return doc


def _refuse(message: str) -> Doc:
    raise InjectError(message)


def inject_objects(docs: Iterable[object], options: SidecarOptions, source: str) -> list[Doc]:
    out: list[Doc] = []
    for index, doc in enumerate(docs):
        where = f"{source}: document {index + 1}"
        if doc is None:
            continue  # an empty document between two `---`
        if not isinstance(doc, dict):
            raise InjectError(f"{where}: expected a Kubernetes object, found {type(doc).__name__}")
        out.append(inject_object(doc, options, where))
    return out


def _parse(text: str, source: str) -> list[object]:
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InjectError(f"{source}: not valid YAML{at}: {problem}") from exc


def inject_text(text: str, options: SidecarOptions, source: str = "<stdin>") -> list[Doc]:
    """Parse a YAML stream and inject every object in it."""
    return inject_objects(_parse(text, source), options, source)


def dump(docs: list[Doc]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=100)


def _sources(paths: list[str]) -> Iterator[tuple[str, str]]:
    if not paths or paths == ["-"]:
        yield "<stdin>", sys.stdin.read()
        return
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix in YAML_SUFFIXES)
            if not files:
                raise InjectError(f"{name}: no .yaml, .yml or .json files in this directory")
        elif path.exists():
            files = [path]
        else:
            raise InjectError(f"{name}: no such file or directory")
        for file in files:
            try:
                yield str(file), file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InjectError(f"{file}: cannot read it: {exc}") from exc


def _quantities(text: str, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in {"cpu", "memory"} or not value.strip():
            raise argparse.ArgumentTypeError(f"{flag} takes cpu=QTY,memory=QTY, not {text!r}")
        out[key.strip()] = value.strip()
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = SidecarOptions()
    parser.add_argument("paths", nargs="*", help="YAML files or directories ('-' or none: stdin)")
    parser.add_argument("--image", default=defaults.image, help="the cachecar image (by digest)")
    parser.add_argument(
        "--config-map", default=defaults.config_map, help="ConfigMap holding cachecar.yaml"
    )
    parser.add_argument("--secret", help="Secret whose REDIS_PASSWORD key the sidecar gets")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (CPU limit too)")
    parser.add_argument("--requests", help="cpu=QTY,memory=QTY (default cpu=100m,memory=128Mi)")
    parser.add_argument("--limits", help="cpu=QTY,memory=QTY (default cpu=<workers>,memory=256Mi)")
    parser.set_defaults(func=run)


def options_from(args: argparse.Namespace) -> SidecarOptions:
    if args.workers < 1:
        raise InjectError(f"--workers must be 1 or more, not {args.workers}")
    defaults = SidecarOptions()
    requests = dict(defaults.requests)
    limits = {**defaults.limits, "cpu": str(args.workers)}
    try:
        if args.requests:
            requests.update(_quantities(args.requests, "--requests"))
        if args.limits:
            limits.update(_quantities(args.limits, "--limits"))
    except argparse.ArgumentTypeError as exc:
        raise InjectError(str(exc)) from exc
    return SidecarOptions(
        image=args.image,
        config_map=args.config_map,
        secret=args.secret,
        workers=args.workers,
        requests=requests,
        limits=limits,
    )


def run(args: argparse.Namespace) -> int:
    try:
        options = options_from(args)
        docs: list[Doc] = []
        for source, text in _sources(list(args.paths)):
            docs += inject_text(text, options, source)
    except InjectError as exc:
        print(f"cachecar inject: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(dump(docs))
    return 0

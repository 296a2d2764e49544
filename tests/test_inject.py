"""``cachecar inject`` and the kustomize Component that carries the same sidecar.

Every output is validated with kubernetes-validate in strict mode for the
oldest Kubernetes with native sidecars on by default and the newest schema
set the validator bundles (the same versions as tests/test_deploy.py). The
Component is rendered with the real kustomize (``make tools``).
"""

from __future__ import annotations

import copy
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate

from sidecar.cli import main
from sidecar.ops import component
from sidecar.ops import sidecar_spec as spec
from sidecar.ops.inject import POD_SPEC_PATHS, inject_text
from sidecar.ops.sidecar_spec import SidecarOptions
from tests.test_deploy import KUBERNETES, KUBERNETES_VERSIONS, _kustomize

Doc = dict[str, Any]
COMPONENT = KUBERNETES / "components" / "cachecar"


def _pod_spec(containers: list[Doc] | None = None, **extra: Any) -> Doc:
    default = [{"name": "app", "image": "example/app:1.0"}]
    return {"containers": default if containers is None else containers, **extra}


def _template(**extra: Any) -> Doc:
    return {"metadata": {"labels": {"app": "web"}}, "spec": _pod_spec(**extra)}


def _workload(kind: str, **extra: Any) -> Doc:
    """A minimal valid object of each kind that has a pod template."""
    meta: Doc = {"name": f"web-{kind.lower()}"}
    selector: Doc = {"matchLabels": {"app": "web"}}
    body: Doc
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": _pod_spec(**extra)}
    if kind == "PodTemplate":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "template": _template(**extra)}
    if kind == "ReplicationController":
        body = {"selector": {"app": "web"}, "template": _template(**extra)}
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": body}
    if kind == "Job":
        template = _template(restartPolicy="Never", **extra)
        body = {"template": template}
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": body}
    if kind == "CronJob":
        template = _template(restartPolicy="OnFailure", **extra)
        body = {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}}
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": body}
    body = {"selector": selector, "template": _template(**extra)}
    if kind == "StatefulSet":
        body["serviceName"] = "web"
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": body}


KINDS = sorted(POD_SPEC_PATHS)
SERVICE: Doc = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
}
CONFIGMAP: Doc = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "cachecar-config"},
    "data": {"cachecar.yaml": "listen: 127.0.0.1:50070\n"},
}


def pod_of(doc: Doc) -> Doc:
    node: Any = doc
    for key in POD_SPEC_PATHS[doc["kind"]]:
        node = node[key]
    found: Doc = node
    return found


def _validate(doc: Doc) -> None:
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(doc, version, strict=True)


def _stream(*docs: Doc) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False)


def run_cli(args: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Any:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["inject", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


# -- every kind ---------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_workload_kind_gets_the_native_sidecar(kind: str) -> None:
    source = _workload(kind)
    _validate(source)
    (doc,) = inject_text(_stream(source), SidecarOptions())
    _validate(doc)
    pod = pod_of(doc)
    (sidecar,) = pod["initContainers"]
    assert sidecar == spec.container(SidecarOptions())
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["startupProbe"]["grpc"]["port"] == spec.HEALTH_PORT
    assert {v["name"] for v in pod["volumes"]} == {spec.CONFIG_VOLUME, spec.TMP_VOLUME}
    assert pod["containers"][0]["env"] == [{"name": "CACHECAR_TARGET", "value": "127.0.0.1:50070"}]
    pod_labels = (doc["metadata"] if kind == "Pod" else _template_meta(doc))["labels"]
    assert pod_labels[spec.INJECTED_LABEL[0]] == spec.INJECTED_LABEL[1]
    # Idempotent: a second run changes nothing.
    assert inject_text(_stream(doc), SidecarOptions()) == [doc]


def _template_meta(doc: Doc) -> Doc:
    path = POD_SPEC_PATHS[doc["kind"]][:-1]
    node: Any = doc
    for key in path:
        node = node[key]
    found: Doc = node["metadata"]
    return found


def test_existing_init_containers_env_and_volumes_are_kept() -> None:
    source = _workload(
        "Deployment",
        containers=[
            {"name": "app", "image": "a:1", "env": [{"name": "CACHECAR_TARGET", "value": "x:1"}]},
            {"name": "proxy", "image": "p:1"},
        ],
        initContainers=[{"name": "migrate", "image": "m:1"}],
        volumes=[{"name": "data", "emptyDir": {}}],
    )
    (doc,) = inject_text(_stream(source), SidecarOptions())
    _validate(doc)
    pod = pod_of(doc)
    assert [c["name"] for c in pod["initContainers"]] == ["cachecar", "migrate"]
    assert [v["name"] for v in pod["volumes"]] == ["data", "cachecar-config", "cachecar-tmp"]
    assert pod["containers"][0]["env"] == [{"name": "CACHECAR_TARGET", "value": "x:1"}]
    assert pod["containers"][1]["env"] == [spec.app_env()]
    assert doc["metadata"] == source["metadata"]
    assert doc["spec"]["selector"] == source["spec"]["selector"]


def test_options_reach_the_sidecar(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    args = ["--image", "registry.example/cachecar@sha256:" + "a" * 64, "--config-map", "cfg"]
    args += ["--secret", "redis-pw", "--workers", "3", "--requests", "cpu=250m"]
    args += ["--limits", "memory=1Gi"]
    code, out, err = run_cli(args, _stream(_workload("Deployment")), monkeypatch, capsys)
    assert (code, err) == (0, "")
    (doc,) = yaml.safe_load_all(out)
    _validate(doc)
    pod = pod_of(doc)
    sidecar = pod["initContainers"][0]
    assert sidecar["image"].endswith("a" * 64)
    env = {e["name"]: e for e in sidecar["env"]}
    assert env["CACHECAR_WORKERS"]["value"] == "3"
    assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "redis-pw",
        "key": "REDIS_PASSWORD",
    }
    assert sidecar["resources"] == {
        "requests": {"cpu": "250m", "memory": "128Mi"},
        "limits": {"cpu": "3", "memory": "1Gi"},
    }
    assert {"name": "cachecar-config", "configMap": {"name": "cfg"}} in pod["volumes"]


# -- streams, Lists, files ----------------------------------------------------


def test_multi_document_stream_leaves_other_objects_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    text = _stream(CONFIGMAP, _workload("Deployment"), SERVICE) + "---\n"
    code, out, err = run_cli([], text, monkeypatch, capsys)
    assert (code, err) == (0, "")
    docs = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in docs] == ["ConfigMap", "Deployment", "Service"]
    assert docs[0] == CONFIGMAP
    assert docs[2] == SERVICE
    assert pod_of(docs[1])["initContainers"][0]["name"] == "cachecar"
    for doc in docs:
        _validate(doc)


def test_kubectl_get_list_output(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    # What `kubectl get deploy,svc -o yaml` prints: a List, with server-set fields.
    live = _workload("Deployment")
    live["metadata"].update(
        namespace="shop",
        uid="0b9d0c36-5f3e-4c8a-9c1e-3b1d2b9b4f10",
        resourceVersion="4242",
        generation=3,
        creationTimestamp="2026-01-01T00:00:00Z",
        annotations={"deployment.kubernetes.io/revision": "3"},
    )
    live["status"] = {"replicas": 2, "readyReplicas": 2, "observedGeneration": 3}
    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [live, SERVICE],
    }
    code, out, err = run_cli(["-"], _stream(listing), monkeypatch, capsys)
    assert (code, err) == (0, "")
    (doc,) = yaml.safe_load_all(out)
    assert doc["kind"] == "List"
    deployment, service = doc["items"]
    assert service == SERVICE
    assert deployment["status"] == live["status"]
    assert deployment["metadata"] == live["metadata"]
    assert pod_of(deployment)["initContainers"][0]["name"] == "cachecar"
    for item in doc["items"]:
        _validate(item)


def test_files_and_directories(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "deploy.yaml").write_text(_stream(_workload("Deployment")))
    (tmp_path / "app" / "svc.yml").write_text(_stream(SERVICE))
    (tmp_path / "app" / "README.md").write_text("not yaml")
    (tmp_path / "job.json").write_text(yaml.safe_dump(_workload("Job")))
    cachecar = Path(sys.executable).parent / "cachecar"
    result = subprocess.run(
        [str(cachecar), "inject", str(tmp_path / "app"), str(tmp_path / "job.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["kind"] for d in docs] == ["Deployment", "Service", "Job"]
    # Piped through a second time (`... | cachecar inject`): nothing changes.
    again = subprocess.run(
        [str(cachecar), "inject"],
        input=result.stdout,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (again.returncode, again.stdout) == (0, result.stdout), again.stderr


# -- refusals -----------------------------------------------------------------


def _with_sidecar(image: str) -> Doc:
    return _workload("Deployment", initContainers=[{"name": "cachecar", "image": image}])


REFUSALS = {
    "other image": (_stream(_with_sidecar("someone/cachecar:9")), [], "runs image"),
    "regular container": (
        _stream(_workload("Deployment", containers=[{"name": "cachecar", "image": "x:1"}])),
        [],
        "regular container is already named 'cachecar'",
    ),
    "foreign volume": (
        _stream(_workload("Pod", volumes=[{"name": "cachecar-config", "emptyDir": {}}])),
        [],
        "volume named 'cachecar-config'",
    ),
    "bad yaml": ("kind: Deployment\nspec: [\n", [], "not valid YAML at line 3"),
    "not an object": ("- just\n- a list\n", [], "expected a Kubernetes object, found list"),
    "no kind": ("metadata: {name: x}\n", [], "no apiVersion and kind"),
    "no template": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n",
        [],
        "spec.template is missing",
    ),
    "no containers": (_stream(_workload("Pod", containers=[])), [], "spec.containers"),
    "containers not a list": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: {a: 1}}\n",
        [],
        "spec.containers must be a list",
    ),
    "bad workers": (_stream(SERVICE), ["--workers", "0"], "--workers must be 1 or more"),
    "bad limits": (_stream(SERVICE), ["--limits", "gpu=1"], "--limits takes cpu=QTY"),
    "missing file": ("", ["/nonexistent/app.yaml"], "no such file or directory"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_name_what_to_fix(case: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    text, args, expected = REFUSALS[case]
    code, out, err = run_cli(args, text, monkeypatch, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("cachecar inject: ")
    assert expected in err
    assert err.count("\n") == 1, "one line, no traceback"


def test_same_image_is_reinjected_in_place() -> None:
    (doc,) = inject_text(_stream(_with_sidecar(spec.DEFAULT_IMAGE)), SidecarOptions())
    _validate(doc)
    assert pod_of(doc)["initContainers"] == [spec.container(SidecarOptions())]


# -- the kustomize Component --------------------------------------------------


@pytest.mark.parametrize("name", sorted(component.PATCHES))
def test_component_patches_are_generated(name: str) -> None:
    assert (COMPONENT / name).read_text() == component.render(name), (
        "regenerate: python -m sidecar.ops.component deploy/kubernetes/components/cachecar"
    )


def test_component_matches_inject(tmp_path: Path) -> None:
    tool = _kustomize()
    assert tool is not None, "kustomize is missing: run `make tools`"
    kinds = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"]
    sources = [_workload(kind) for kind in kinds]
    (tmp_path / "app.yaml").write_text(_stream(*sources, SERVICE))
    (tmp_path / "cachecar").symlink_to(COMPONENT)  # kustomize refuses absolute paths
    (tmp_path / "kustomization.yaml").write_text("resources: [app.yaml]\ncomponents: [cachecar]\n")
    result = subprocess.run(
        [tool, "build", str(tmp_path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    built = {d["kind"]: d for d in yaml.safe_load_all(result.stdout)}
    assert built["Service"] == SERVICE
    injected = {d["kind"]: d for d in inject_text(_stream(*sources), SidecarOptions())}
    for kind in kinds:
        _validate(built[kind])
        expected = copy.deepcopy(injected[kind])
        # A patch cannot name containers it does not know: no CACHECAR_TARGET.
        for app in pod_of(expected)["containers"]:
            app["env"] = [e for e in app["env"] if e["name"] != "CACHECAR_TARGET"] or None
            if app["env"] is None:
                del app["env"]
        assert built[kind] == expected, kind

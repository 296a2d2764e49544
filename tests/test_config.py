"""Config validation: good files load, bad ones fail naming the field and the fix."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sidecar.cli import main
from sidecar.config import ConfigError, load_settings, parse_duration, settings_from_mapping

GOOD = """
listen: "127.0.0.1:50070"
backends:
  main: "redis://127.0.0.1:6379/0"
  mc:   "memcached://127.0.0.1:11211,127.0.0.1:11212"
  secure:
    url: "rediss://cache.example.internal:6379/0"
    username: app
    password_env: REDIS_PASSWORD
namespaces:
  product:
    backend: main
    ttl: 1h
    loader: "127.0.0.1:50052"
    writer: "127.0.0.1:50052"
  sessions: { backend: main, ttl: 30m }
  pages: { backend: mc, ttl: 90s, max_value_size: 512KiB, negative_ttl: 500ms }
"""


def _load(tmp_path: Path, text: str, **environ: str) -> object:
    path = tmp_path / "cachecar.yaml"
    path.write_text(text)
    return load_settings(path, environ)


def test_design_example_loads(tmp_path: Path) -> None:
    settings = load_settings_ok(tmp_path, GOOD)
    assert settings.namespaces["product"].ttl == timedelta(hours=1)
    assert settings.namespaces["pages"].max_value_size == 512 * 1024
    assert settings.namespaces["pages"].negative_ttl == timedelta(milliseconds=500)
    assert settings.backends["mc"].kind == "memcached"
    assert settings.backends["secure"].password({"REDIS_PASSWORD": "s3cret"}) == "s3cret"


def load_settings_ok(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "ok.yaml"
    path.write_text(text)
    return load_settings(path, {})


@pytest.mark.parametrize(
    ("text", "field", "hint"),
    [
        ("backends: {}\nnamespaces: {a: {backend: nope}}", "namespaces.a.backend", "not declared"),
        (
            "backends: {m: 'redis://h:1'}\nnamespaces: {a: {backend: m, ttl: soon}}",
            "namespaces.a.ttl",
            "duration",
        ),
        (
            "backends: {m: 'redis://h:1'}\nnamespaces: {a: {backend: m, tll: 5m}}",
            "namespaces.a.tll",
            "did you mean 'ttl'? valid keys here: backend, boards,",
        ),
        (
            "backends: {m: {url: 'redis://h:1', pool: 3}}\nnamespaces: {}",
            "backends.m.pool",
            "pool_size",
        ),
        ("listne: 'x'\nbackends: {}\nnamespaces: {}", "listne", "did you mean 'listen'?"),
        ("backends: {m: 'http://h:1'}\nnamespaces: {}", "backends.m.url", "redis://"),
        ("backends: {m: 'redis://u:pw@h:1'}\nnamespaces: {}", "backends.m.url", "password_env"),
        (
            "backends: {m: 'redis://h:1'}\nnamespaces: {Bad.Name: {backend: m}}",
            "namespaces",
            "lowercase",
        ),
        ("listen: nowhere\nbackends: {}\nnamespaces: {}", "listen", "host:port"),
        (
            "backends: {m: 'redis://h:1'}\nnamespaces: {a: {backend: m, ttl: 0s}}",
            "namespaces.a.ttl",
            "longer than zero",
        ),
        ("namespaces: {}", "backends", "Field required"),
    ],
)
def test_bad_config_names_the_field(tmp_path: Path, text: str, field: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    message = str(caught.value)
    assert f"  {field}:" in message, message
    assert hint in message, message


def test_not_yaml_or_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        _load(tmp_path, "backends: [unclosed")
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "absent.yaml", {})
    with pytest.raises(ConfigError, match="mapping at top level"):
        settings_from_mapping(["a"], {})


def test_environment_overrides_listen() -> None:
    settings = settings_from_mapping(
        {"backends": {}, "namespaces": {}}, {"CACHECAR_LISTEN": "unix:///tmp/cc.sock"}
    )
    assert settings.listen == "unix:///tmp/cc.sock"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("1h30m", 5400), ("2d", 172800), (15, 15), ("1.5s", 1.5)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    assert main(["check-config", str(good)]) == 0
    assert "config OK" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("backends: {}\nnamespaces: {a: {backend: nope}}")
    assert main(["check-config", str(bad)]) == 2
    assert "namespaces.a.backend" in capsys.readouterr().err


def _refused(tmp_path: Path, url: str, loader: str = "127.0.0.1:50052") -> str:
    text = f"backends: {{m: '{url}'}}\nnamespaces: {{a: {{backend: m, loader: '{loader}'}}}}"
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, text)
    return str(caught.value)


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("redis://127.0.0.1:abc/0", "port 'abc' is not a number from 1 to 65535"),
        ("redis://127.0.0.1:99999/0", "port '99999' is not a number from 1 to 65535"),
        ("redis://127.0.0.1:0/0", "port '0' is not a number"),
        ("redis://127.0.0.1:6379/x", "the path is the Redis database number, got '/x'"),
        ("redis+cluster://127.0.0.1:7000/3", "Redis Cluster has only database 0"),
        ("memcached://127.0.0.1:1121x", "server '127.0.0.1:1121x': port '1121x'"),
        ("memcached://127.0.0.1:11211,", "server 2 of 2 in the list is empty"),
        ("memcached://127.0.0.1:11211,,127.0.0.1:11212", "server 2 of 3 in the list is empty"),
        ("memcached://127.0.0.1:11211/0", "memcached URLs take no path"),
        ("redis://[::1:6379/0", "Invalid IPv6 URL"),
    ],
)
def test_bad_backend_addresses_are_refused(tmp_path: Path, url: str, hint: str) -> None:
    message = _refused(tmp_path, url)
    assert "  backends.m.url: " in message, message
    assert hint in message, message


@pytest.mark.parametrize(
    ("loader", "hint"),
    [
        ("127.0.0.1", "'127.0.0.1': no port; expected host:port"),
        ("127.0.0.1:5x", "port '5x' is not a number"),
        (":50052", "names no host"),
        ("unix:", "names no address after unix:"),
    ],
)
def test_bad_loader_addresses_are_refused(tmp_path: Path, loader: str, hint: str) -> None:
    message = _refused(tmp_path, "redis://127.0.0.1:6379/0", loader)
    assert "  namespaces.a.loader: " in message, message
    assert hint in message, message


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1/0",
        "redis://127.0.0.1:6379",
        "rediss://app@cache.example.internal:6379/2",
        "redis://[::1]:6379/0",
        "redis+cluster://127.0.0.1:7000",
        "memcached://127.0.0.1",
        "memcached://10.0.0.1:11211, 10.0.0.2:11212",
    ],
)
def test_good_backend_addresses_pass(tmp_path: Path, url: str) -> None:
    text = (
        f"backends: {{m: '{url}'}}\nnamespaces: {{a: {{backend: m, loader: 'dns:///app:50052'}}}}"
    )
    assert load_settings_ok(tmp_path, text).backends["m"].url == url


def test_check_config_refuses_a_bad_port_in_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("backends: {m: 'redis://127.0.0.1:abc/0'}\nnamespaces: {}")
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "backends.m.url" in err
    assert "Traceback" not in err


def test_environment_overrides_a_backend_url() -> None:
    # What the elasticache-cluster overlay does instead of copying the whole file.
    raw: dict[str, Any] = {
        "backends": {
            "main": {"url": "redis://a:6379/0", "timeout": "1s"},
            "side-cache": "redis://b:6379/0",
        },
        "namespaces": {"x": {"backend": "main"}},
    }
    environ = {
        "CACHECAR_BACKEND_MAIN_URL": "redis+cluster://c:6379",
        "CACHECAR_BACKEND_SIDE_CACHE_URL": "redis://d:6379/1",
    }
    settings = settings_from_mapping(raw, environ)
    assert settings.backends["main"].url == "redis+cluster://c:6379"
    assert settings.backends["main"].timeout == timedelta(seconds=1)
    assert settings.backends["side-cache"].url == "redis://d:6379/1"
    assert raw["backends"]["main"] == {"url": "redis://a:6379/0", "timeout": "1s"}
    with pytest.raises(ConfigError, match=r"backends\.main\.url"):
        settings_from_mapping(raw, {"CACHECAR_BACKEND_MAIN_URL": "http://nope"})


def test_invalidation_intervals_are_backend_settings() -> None:
    fast = {"ping_interval": "100ms", "topology_interval": "250ms"}
    settings = settings_from_mapping(
        {
            "backends": {"main": {"url": "redis://127.0.0.1:6379/0", "invalidation": fast}},
            "namespaces": {"items": {"backend": "main", "near_cache": {"max_bytes": "1MiB"}}},
        }
    )
    invalidation = settings.backends["main"].invalidation
    assert invalidation.ping_interval == timedelta(milliseconds=100)
    assert invalidation.topology_interval == timedelta(milliseconds=250)


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        (
            {"url": "redis://127.0.0.1:6379/0", "invalidation": {"ping_interval": "10ms"}},
            r"backends\.main\.invalidation\.ping_interval: must be between 50ms and 1m",
        ),
        (
            {"url": "redis://127.0.0.1:6379/0", "invalidation": {"topology_interval": "2m"}},
            r"backends\.main\.invalidation\.topology_interval: must be between 50ms and 1m",
        ),
        (
            {"url": "memcached://127.0.0.1:11211", "invalidation": {"ping_interval": "1s"}},
            r"backends\.main: invalidation is a Redis setting",
        ),
    ],
)
def test_invalidation_settings_refused(backend: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping(
            {"backends": {"main": backend}, "namespaces": {"items": {"backend": "main"}}}
        )

"""Each client installed into a project outside the repository, as its README says.

Python: ``pip install clients/python`` (pip builds the wheel) into a fresh venv.
Node: the ``npm pack`` tarball, installed into a fresh npm project.
Go: a fresh module that requires the client module with a ``replace``.
Java: ``mvn install`` of clients/java, then a fresh Maven project using it.
Each project lives under the test's tmp_path and makes one call (Set, then
Get) to a real sidecar. Package caches (pip, npm, Go, ~/.m2) are the user's
defaults, warm from ``make test``'s own steps; the installs may reach the
registries for what is not cached yet.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.appfixtures import SidecarFactory

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def _run(args: list[str], cwd: Path, **env: str) -> str:
    """Run a command off the event loop (the sidecar shares it); its stdout."""
    done = await asyncio.to_thread(
        subprocess.run,
        args,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


async def test_python_pip_install(
    redis_url: str, sidecar_for: SidecarFactory, tmp_path: Path
) -> None:
    sc = await sidecar_for(redis_url)
    # A bare venv, filled by this interpreter's pip (--python): the README's
    # `pip install <checkout>/clients/python`, which builds and installs the wheel.
    await _run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], tmp_path)
    await _run(
        [
            *(sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"),
            *(
                "--python",
                str(tmp_path / "venv/bin/python"),
                "install",
                str(REPO / "clients/python"),
            ),
        ],
        tmp_path,
    )
    (tmp_path / "app.py").write_text(
        textwrap.dedent(
            """
            import asyncio, os, cachecar

            async def main():
                async with cachecar.CacheCar(os.environ["CACHECAR_TARGET"]) as cc:
                    await cc.set("items", "py", b"from-python")
                    got = await cc.get("items", "py")
                    print(got.found, got.value.decode(), cachecar.__file__)

            asyncio.run(main())
            """
        )
    )
    out = await _run(
        [str(tmp_path / "venv/bin/python"), "app.py"], tmp_path, CACHECAR_TARGET=sc.sidecar.address
    )
    found, value, where = out.split()
    assert (found, value) == ("True", "from-python")
    assert where.startswith(str(tmp_path / "venv")), where


async def test_node_tarball(redis_url: str, sidecar_for: SidecarFactory, tmp_path: Path) -> None:
    sc = await sidecar_for(redis_url)
    packed = await _run(
        [
            "npm",
            "pack",
            "--silent",
            "--pack-destination",
            str(tmp_path),
            str(REPO / "clients/node"),
        ],
        tmp_path,
    )
    tarball = tmp_path / packed.strip().splitlines()[-1]
    assert tarball.is_file(), packed
    project = tmp_path / "app"
    project.mkdir()
    (project / "package.json").write_text('{"name": "app", "private": true}')
    await _run(
        ["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", str(tarball)], project
    )
    (project / "app.js").write_text(
        textwrap.dedent(
            """
            const { CacheCar } = require('cachecar');
            (async () => {
              const cc = new CacheCar(process.env.CACHECAR_TARGET);
              await cc.set('items', 'js', Buffer.from('from-node'));
              const got = await cc.get('items', 'js');
              console.log(got.found, got.value.toString(), require.resolve('cachecar'));
              cc.close();
            })();
            """
        )
    )
    out = await _run(["node", "app.js"], project, CACHECAR_TARGET=sc.sidecar.address)
    found, value, where = out.split()
    assert (found, value) == ("true", "from-node")
    assert where.startswith(str(project / "node_modules")), where


async def test_go_module_with_replace(
    redis_url: str, sidecar_for: SidecarFactory, tmp_path: Path
) -> None:
    sc = await sidecar_for(redis_url)
    module = "github.com/cachecar/cachecar/clients/go"
    await _run(["go", "mod", "init", "example.com/app"], tmp_path)
    await _run(["go", "mod", "edit", f"-replace={module}={REPO / 'clients/go'}"], tmp_path)
    (tmp_path / "main.go").write_text(
        textwrap.dedent(
            """
            package main

            import (
                "context"
                "fmt"
                "os"
                "time"

                cachecarv1 "github.com/cachecar/cachecar/clients/go/cachecar/v1"
                "google.golang.org/grpc"
                "google.golang.org/grpc/credentials/insecure"
            )

            func main() {
                conn, err := grpc.NewClient(os.Getenv("CACHECAR_TARGET"),
                    grpc.WithTransportCredentials(insecure.NewCredentials()))
                if err != nil {
                    panic(err)
                }
                defer conn.Close()
                ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
                defer cancel()
                cache := cachecarv1.NewCacheServiceClient(conn)
                if _, err := cache.Set(ctx, &cachecarv1.SetRequest{
                    Namespace: "items", Key: "go", Value: []byte("from-go")}); err != nil {
                    panic(err)
                }
                got, err := cache.Get(ctx, &cachecarv1.GetRequest{Namespace: "items", Key: "go"})
                if err != nil {
                    panic(err)
                }
                fmt.Println(got.GetFound(), string(got.GetValue()))
            }
            """
        )
    )
    await _run(["go", "mod", "tidy"], tmp_path)
    out = await _run(["go", "run", "."], tmp_path, CACHECAR_TARGET=sc.sidecar.address)
    assert out.split() == ["true", "from-go"]


_POM = """\
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example</groupId>
  <artifactId>app</artifactId>
  <version>1</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>dev.cachecar</groupId>
      <artifactId>cachecar-java</artifactId>
      <version>0.1.0</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.13.0</version>
      </plugin>
    </plugins>
  </build>
</project>
"""

_MAIN_JAVA = """\
import com.google.protobuf.ByteString;
import dev.cachecar.v1.CacheServiceGrpc;
import dev.cachecar.v1.GetRequest;
import dev.cachecar.v1.GetResponse;
import dev.cachecar.v1.SetRequest;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;

public final class Main {
  public static void main(String[] args) {
    ManagedChannel channel =
        Grpc.newChannelBuilder(
                System.getenv("CACHECAR_TARGET"), InsecureChannelCredentials.create())
            .build();
    CacheServiceGrpc.CacheServiceBlockingStub cache = CacheServiceGrpc.newBlockingStub(channel);
    cache.set(SetRequest.newBuilder().setNamespace("items").setKey("java")
        .setValue(ByteString.copyFromUtf8("from-java")).build());
    GetResponse got =
        cache.get(GetRequest.newBuilder().setNamespace("items").setKey("java").build());
    System.out.println(got.getFound() + " " + got.getValue().toStringUtf8());
    channel.shutdownNow();
  }
}
"""


async def test_java_maven_install(
    redis_url: str, sidecar_for: SidecarFactory, tmp_path: Path
) -> None:
    sc = await sidecar_for(redis_url)
    await _run(["mvn", "-q", "-B", "-f", str(REPO / "clients/java"), "install"], tmp_path)
    (tmp_path / "pom.xml").write_text(_POM)
    source = tmp_path / "src/main/java"
    source.mkdir(parents=True)
    (source / "Main.java").write_text(_MAIN_JAVA)
    classpath = tmp_path / "classpath.txt"
    await _run(
        [
            *("mvn", "-q", "-B", "compile"),
            "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath",
            f"-Dmdep.outputFile={classpath}",
        ],
        tmp_path,
    )
    out = await _run(
        ["java", "-cp", f"{tmp_path / 'target/classes'}:{classpath.read_text().strip()}", "Main"],
        tmp_path,
        CACHECAR_TARGET=sc.sidecar.address,
    )
    assert out.split() == ["true", "from-java"]

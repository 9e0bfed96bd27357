#!/usr/bin/env python
"""Build the real cluster components for tests/cluster/ from their published Go modules.

Versions come from tests/cluster/versions.env and nowhere else. Everything the build makes lives
outside the clone, under $NETZONE_CACHE (default /var/cache/netzone-segmentation):

    gomod/            GOMODCACHE
    gocache/          GOCACHE
    work/<name>/      the small wrapper modules (generated, never committed)
    bin/<stamp>/      the binaries, <stamp> a hash of versions.env, RECIPE and the Go version

A second run with the same pins finds bin/<stamp>/.complete and builds nothing.

k8s.io/kubernetes cannot be `go install`ed: its go.mod replaces every k8s.io/* staging module with
./staging/src/k8s.io/*. The wrapper module's replace lines are generated here from that go.mod,
each staging module mapped to the published k8s.io/<name> v0.<minor>.<patch> of the same release.
etcd's server module has ../ replace lines too, so it gets a wrapper of its own.

Usage: build_cluster.py [--print-bindir] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "tests" / "cluster" / "versions.env"
CACHE = Path(os.environ.get("NETZONE_CACHE", "/var/cache/netzone-segmentation"))
WRAPPER_MODULE = "netzone.test/clusterbuild"
# Bump when the way the binaries are built changes (flags, wrappers): part of the stamp with the pins.
RECIPE = "1"


def read_versions(path: Path = VERSIONS) -> dict[str, str]:
    """KEY=VALUE lines of versions.env (comments and blank lines skipped)."""
    pins: dict[str, str] = {}
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_]+", key.strip()) or not value.strip():
            raise SystemExit(f"{path}:{lineno}: expected KEY=VALUE, got {raw!r}")
        pins[key.strip()] = value.strip()
    for key in ("KUBERNETES_VERSION", "ETCD_VERSION", "KUBE_ROUTER_VERSION"):
        if key not in pins:
            raise SystemExit(f"{path}: {key} is not set")
    return pins


def stamp(pins: dict[str, str]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(pins, sort_keys=True).encode())
    h.update(RECIPE.encode())
    h.update(subprocess.run([find_go(), "env", "GOVERSION"], capture_output=True, text=True,
                            check=True).stdout.encode())
    return h.hexdigest()[:16]


def bindir(pins: dict[str, str]) -> Path:
    return CACHE / "bin" / f"{pins['KUBERNETES_VERSION']}-{stamp(pins)}"


def find_go() -> str:
    """The go command: on PATH, or the toolchain's usual place (a non-login shell may not have it on PATH)."""
    found = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go",) if os.access(p, os.X_OK)), None)
    if found is None:
        raise SystemExit("build_cluster: no go command (not on PATH, not in /usr/local/go/bin)")
    return found


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(find_go()) + os.pathsep + env.get("PATH", "")
    env.update(
        GOMODCACHE=str(CACHE / "gomod"),
        GOCACHE=str(CACHE / "gocache"),
        CGO_ENABLED="0",
        GOFLAGS="-mod=mod -buildvcs=false",
        GOWORK="off",
        GOTOOLCHAIN=os.environ.get("GOTOOLCHAIN", "local"),
    )
    return env


def go(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    print("+ go " + " ".join(args), f"(in {cwd})", flush=True)
    proc = subprocess.run([find_go(), *args], cwd=cwd, env=env, text=True, capture_output=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"go {' '.join(args)} failed (exit {proc.returncode})")
    return proc.stdout


_STAGING = re.compile(r"^\s*(?:replace\s+)?(k8s\.io/[A-Za-z0-9._-]+)\s+=>\s+\./staging/src/(\S+)\s*$")


def staging_replaces(kubernetes_gomod: str, k8s_version: str) -> list[tuple[str, str]]:
    """(module, published version) for every ./staging replace line of k8s.io/kubernetes's go.mod.

    The published staging modules carry the same release as v0.<minor>.<patch>.
    """
    m = re.fullmatch(r"v1\.(\d+)\.(\d+)", k8s_version)
    if not m:
        raise SystemExit(f"KUBERNETES_VERSION: expected v1.<minor>.<patch>, got {k8s_version!r}")
    staged = f"v0.{m.group(1)}.{m.group(2)}"
    out = []
    for line in kubernetes_gomod.splitlines():
        hit = _STAGING.match(line)
        if hit:
            module, path = hit.groups()
            if path != module:
                raise SystemExit(f"k8s.io/kubernetes go.mod: {module} replaced by unexpected ./staging/src/{path}")
            out.append((module, staged))
    if not out:
        raise SystemExit("k8s.io/kubernetes go.mod: no ./staging replace lines found (format changed?)")
    return out


def write_wrapper(workdir: Path, requires: list[tuple[str, str]], replaces: list[tuple[str, str]],
                  imports: list[str]) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    lines = [f"module {WRAPPER_MODULE}", "", "go 1.25.0", "", "require ("]
    lines += [f"\t{mod} {ver}" for mod, ver in requires] + [")", ""]
    if replaces:
        lines += ["// generated by tools/build_cluster.py from the upstream go.mod", "replace ("]
        lines += [f"\t{mod} => {mod} {ver}" for mod, ver in replaces] + [")"]
    (workdir / "go.mod").write_text("\n".join(lines) + "\n", encoding="utf-8")
    body = "\n".join(f'\t_ "{imp}"' for imp in imports)
    (workdir / "tools.go").write_text(
        f"//go:build tools\n\npackage clusterbuild\n\nimport (\n{body}\n)\n", encoding="utf-8")


def build_kubernetes(pins: dict[str, str], out: Path, env: dict[str, str]) -> None:
    version = pins["KUBERNETES_VERSION"]
    info = json.loads(go(["mod", "download", "-json", f"k8s.io/kubernetes@{version}"], CACHE, env))
    gomod = Path(info["GoMod"]).read_text(encoding="utf-8")
    replaces = staging_replaces(gomod, version)
    cmds = ["kube-apiserver", "kube-controller-manager", "kube-proxy"]
    work = CACHE / "work" / "kubernetes"
    write_wrapper(work, [("k8s.io/kubernetes", version)], replaces,
                  [f"k8s.io/kubernetes/cmd/{c}" for c in cmds])
    go(["mod", "tidy"], work, env)
    minor = version.split(".")[1]
    ldflags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        ldflags += [f"-X {pkg}.gitVersion={version}", f"-X {pkg}.gitMajor=1",
                    f"-X {pkg}.gitMinor={minor}", f"-X {pkg}.gitTreeState=clean"]
    for c in cmds:
        go(["build", "-p", os.environ.get("NETZONE_GO_P", "2"), "-trimpath", "-ldflags", " ".join(ldflags),
            "-o", str(out / c), f"k8s.io/kubernetes/cmd/{c}"], work, env)


def build_etcd(pins: dict[str, str], out: Path, env: dict[str, str]) -> None:
    version = pins["ETCD_VERSION"]
    work = CACHE / "work" / "etcd"
    write_wrapper(work, [("go.etcd.io/etcd/server/v3", version)], [], ["go.etcd.io/etcd/server/v3"])
    go(["mod", "tidy"], work, env)
    go(["build", "-p", os.environ.get("NETZONE_GO_P", "2"), "-trimpath", "-ldflags", "-s -w",
        "-o", str(out / "etcd"), "go.etcd.io/etcd/server/v3"], work, env)


def build_kube_router(pins: dict[str, str], out: Path, env: dict[str, str]) -> None:
    version = pins["KUBE_ROUTER_VERSION"]
    work = CACHE / "work" / "kube-router"
    write_wrapper(work, [("github.com/cloudnativelabs/kube-router/v2", version)], [],
                  ["github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"])
    go(["mod", "tidy"], work, env)
    go(["build", "-p", os.environ.get("NETZONE_GO_P", "2"), "-trimpath", "-ldflags",
        f"-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version={version}",
        "-o", str(out / "kube-router"), "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"], work, env)


BUILDERS = (("etcd", build_etcd), ("kube-router", build_kube_router), ("kubernetes", build_kubernetes))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--print-bindir", action="store_true", help="print the binary directory and exit")
    ap.add_argument("--force", action="store_true", help="rebuild even if the stamp is complete")
    args = ap.parse_args(argv)
    pins = read_versions()
    out = bindir(pins)
    if args.print_bindir:
        print(out)
        return 0
    done = out / ".complete"
    if done.exists() and not args.force:
        print(f"build_cluster: up to date ({out}), nothing rebuilt")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    env = go_env()
    started = time.monotonic()
    timings = {}
    for name, builder in BUILDERS:
        t0 = time.monotonic()
        builder(pins, out, env)
        timings[name] = round(time.monotonic() - t0, 1)
    total = round(time.monotonic() - started, 1)
    done.write_text(json.dumps({"pins": pins, "seconds": timings, "total_seconds": total}, indent=1) + "\n",
                    encoding="utf-8")
    print(f"build_cluster: built {sorted(p.name for p in out.iterdir() if p.name != '.complete')} "
          f"in {total}s ({timings}) into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

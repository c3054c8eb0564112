"""scripts/build-toolchain: the pinned real-control-plane toolchain, built from Go modules.

The real builds take many minutes; these tests run the script against a stand-in `go` that
records its calls, in a copy of the script and wrappers, so caching and recipes are checked
in seconds. The e2e tier runs the real builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap

import pytest

from wfdeploy.paths import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "build-toolchain"

# A stand-in for `go`: `go env` answers fixed values, `go build -o DIR/ PKG...` writes one file
# per package named as go names it (the last path element that is not a major version).
FAKE_GO = textwrap.dedent(
    """\
    #!/usr/bin/env python3
    import os, sys
    with open(os.environ["FAKE_GO_LOG"], "a") as log:
        log.write(" ".join(sys.argv[1:]) + "\\n")
    args = sys.argv[1:]
    if args[0] == "env":
        print("\\n".join({"GOVERSION": "go1.26.8", "GOOS": "linux", "GOARCH": "amd64"}[a] for a in args[1:]))
    elif args[0] == "build":
        if os.environ.get("FAKE_GO_FAIL"):
            sys.exit("fake go: compile error")
        out = args[args.index("-o") + 1]
        for pkg in [a for a in args[args.index("-o") + 2:]]:
            parts = pkg.split("/")
            name = parts[-2] if parts[-1][1:].isdigit() and parts[-1][0] == "v" else parts[-1]
            with open(os.path.join(out, name), "w") as binary:
                binary.write(pkg)
    """
)


@pytest.fixture()
def toolchain(tmp_path):
    """A copy of the script and the wrappers it needs, a stand-in go first on PATH, an empty cache."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, repo / "scripts")
    for wrapper in ("etcd", "kubernetes", "random-substitute"):
        shutil.copytree(PROJECT_ROOT / "tools" / wrapper, repo / "tools" / wrapper)
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    (fakebin / "go").write_text(FAKE_GO)
    (fakebin / "go").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fakebin}{os.pathsep}{os.environ['PATH']}",
        "FAKE_GO_LOG": str(tmp_path / "go.log"),
        "WFDEPLOY_TOOLCHAIN_CACHE": str(tmp_path / "cache"),
    }
    env.pop("WFDEPLOY_TOOLCHAIN_LOG_DIR", None)

    def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(repo / "scripts" / "build-toolchain"), *args],
            env={**env, **extra_env}, capture_output=True, text=True, timeout=120, check=False,
        )

    run.repo = repo
    run.cache = tmp_path / "cache"
    run.go_calls = lambda: (tmp_path / "go.log").read_text().splitlines() if (tmp_path / "go.log").exists() else []
    return run


def builds(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("build ")]


def test_every_wrapper_module_under_tools_has_a_recipe():
    listed = subprocess.run([str(SCRIPT), "--list"], capture_output=True, text=True, check=True).stdout
    wrappers = {line.split(":")[0] for line in listed.splitlines()}
    on_disk = {p.parent.name for p in (PROJECT_ROOT / "tools").glob("*/go.mod")}
    assert wrappers == on_disk
    for wrapper in wrappers:
        assert (PROJECT_ROOT / "tools" / wrapper / "go.sum").is_file(), f"tools/{wrapper}/go.sum is not committed"


def test_the_list_names_every_binary_the_e2e_tier_needs():
    listed = subprocess.run([str(SCRIPT), "--list"], capture_output=True, text=True, check=True).stdout
    binaries = {b for line in listed.splitlines() for b in line.split(":")[1].split()}
    assert binaries >= {
        "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "pulumi",
        "pulumi-language-python", "pulumi-language-python-exec",
        "pulumi-resource-kubernetes", "pulumi-resource-random",
    }


def test_builds_once_then_reuses_the_cache_and_prints_current_bin_last(toolchain):
    first = toolchain("etcd")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    current = toolchain.cache / "current" / "bin"
    assert lines[-1] == str(current)
    assert lines[0].startswith("etcd: built ")
    # go names the binary of go.etcd.io/etcd/server/v3 "server": the script renames it
    assert (current / "etcd").read_text() == "go.etcd.io/etcd/server/v3"
    assert len(builds(toolchain.go_calls())) == 1

    second = toolchain("etcd")
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[0].startswith("etcd: cached ")
    assert len(builds(toolchain.go_calls())) == 1, "a cached wrapper was rebuilt"


def test_a_changed_pin_rebuilds_into_a_new_folder(toolchain):
    toolchain("etcd")
    old = (toolchain.cache / "current" / "bin" / "etcd").resolve()
    with (toolchain.repo / "tools" / "etcd" / "go.sum").open("a") as go_sum:
        go_sum.write("example.org/changed v1.0.0 h1:changed=\n")
    rebuilt = toolchain("etcd")
    assert rebuilt.returncode == 0, rebuilt.stderr
    new = (toolchain.cache / "current" / "bin" / "etcd").resolve()
    assert new != old and new.parent.parent != old.parent.parent
    assert len(builds(toolchain.go_calls())) == 2


def test_a_binary_the_recipe_no_longer_makes_loses_its_link(toolchain):
    toolchain("etcd")
    stale = toolchain.cache / "current" / "bin" / "etcdctl"
    stale.symlink_to(next(toolchain.cache.glob("etcd-*/bin")) / "etcdctl")
    (toolchain.repo / "tools" / "etcd" / "go.sum").write_text("changed\n")
    assert toolchain("etcd").returncode == 0
    assert not stale.is_symlink() and (toolchain.cache / "current" / "bin" / "etcd").exists()


def test_links_of_a_wrapper_whose_name_begins_with_another_are_kept(toolchain):
    # as pulumi-kubernetes' links must survive a build of pulumi
    (toolchain.cache / "etcd-extra-0123456789abcdef" / "bin").mkdir(parents=True)
    (toolchain.cache / "etcd-extra-0123456789abcdef" / "bin" / "extra").write_text("")
    (toolchain.cache / "current" / "bin").mkdir(parents=True)
    other = toolchain.cache / "current" / "bin" / "extra"
    other.symlink_to(toolchain.cache / "etcd-extra-0123456789abcdef" / "bin" / "extra")
    assert toolchain("etcd").returncode == 0
    assert other.is_symlink()


def test_force_rebuilds_a_cached_wrapper(toolchain):
    toolchain("etcd")
    forced = toolchain("--force", "etcd")
    assert forced.returncode == 0, forced.stderr
    assert len(builds(toolchain.go_calls())) == 2


def test_kubernetes_binaries_carry_the_version_ldflags(toolchain):
    result = toolchain("kube-apiserver")
    assert result.returncode == 0, result.stderr
    (build,) = builds(toolchain.go_calls())
    assert "-ldflags=-s -w -X " in build, "the linker flags run together"
    # without these /version answers v0.0.0 and the kubernetes provider refuses the cluster
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        assert f"-X {pkg}.gitVersion=v1.34.4" in build
        assert f"-X {pkg}.gitMajor=1 -X {pkg}.gitMinor=34" in build
    names = {line.split(":")[0] for line in result.stdout.splitlines()[:-1]}
    assert names == {"kube-apiserver", "kube-controller-manager", "kube-scheduler"}


def test_the_random_substitute_reports_the_sdks_plugin_version(toolchain):
    result = toolchain("pulumi-resource-random")
    assert result.returncode == 0, result.stderr
    (build,) = builds(toolchain.go_calls())
    assert "-ldflags=-s -w -X main.version=4.21.4" in build
    assert (toolchain.cache / "current" / "bin" / "pulumi-resource-random").exists()


def test_a_failed_build_names_the_wrapper_and_leaves_nothing_that_looks_built(toolchain):
    failed = toolchain("etcd", FAKE_GO_FAIL="1")
    assert failed.returncode != 0
    assert "FAILED etcd" in failed.stderr and "compile error" in failed.stderr
    assert not (toolchain.cache / "current" / "bin" / "etcd").exists()
    assert not list(toolchain.cache.glob("etcd-*/.complete"))
    retried = toolchain("etcd")
    assert retried.returncode == 0 and retried.stdout.startswith("etcd: built ")


def test_an_unknown_name_is_refused_naming_it_and_the_known_ones(toolchain):
    result = toolchain("kubelet")
    assert result.returncode == 2
    assert "unknown name 'kubelet'" in result.stderr and "etcd kubernetes kwok" in result.stderr
    assert toolchain.go_calls() == []

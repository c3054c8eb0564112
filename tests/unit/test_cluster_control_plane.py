"""The ephemeral control plane's parts that need no Kubernetes binaries: keys, CRDs, process cleanup."""

from __future__ import annotations

import ssl
import stat
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from wfdeploy import cli
from wfdeploy.cluster import ClusterError, ClusterSettings, up
from wfdeploy.cluster import crds, pki
from wfdeploy.cluster.processes import State
from wfdeploy.cluster.toolchain import CONTROL_PLANE, TOOLCHAIN_BIN_ENV


def test_serving_certificate_names_loopback_and_the_kubernetes_service(tmp_path):
    ca = pki.CertificateAuthority(tmp_path)
    cert_file, key_file = ca.serving("apiserver", ("kubernetes", "127.0.0.1", "10.96.0.1"))
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "10.96.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["kubernetes"]
    # the chain verifies as a TLS client would check it
    context = ssl.create_default_context(cafile=str(ca.cert_file))
    context.load_cert_chain(str(cert_file), str(key_file))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_client_certificates_carry_the_rbac_user_and_groups(tmp_path):
    ca = pki.CertificateAuthority(tmp_path)
    cert_file, _ = ca.client(pki.CONTROLLER_MANAGER)
    subject = x509.load_pem_x509_certificate(cert_file.read_bytes()).subject
    assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "system:kube-controller-manager"
    admin_file, _ = ca.client(pki.ADMIN)
    admin = x509.load_pem_x509_certificate(admin_file.read_bytes()).subject
    assert [a.value for a in admin.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["system:masters"]


def test_every_pinned_crd_loads_including_bare_equals_enums():
    loaded = crds.load_crds()
    assert len(loaded) == 55  # ../shared/crds/README.md
    names = {crd["metadata"]["name"] for crd in loaded}
    assert {"clusters.postgresql.cnpg.io", "httproutes.gateway.networking.k8s.io", "prometheusrules.monitoring.coreos.com"} <= names


def test_a_folder_without_crds_is_an_error_naming_it(tmp_path):
    (tmp_path / "x.yaml").write_text("kind: ConfigMap\n")
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        crds.load_crds(tmp_path)


def _fake_toolchain(directory: Path) -> None:
    """etcd answers /health; the API server dies at once — `up` must stop etcd and say why."""
    directory.mkdir()
    etcd = directory / "etcd"
    etcd.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import http.server, sys
        url = sys.argv[sys.argv.index("--listen-client-urls") + 1]
        port = int(url.rsplit(":", 1)[1])
        class Health(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.end_headers(); self.wfile.write(b'{{"health":"true"}}')
        http.server.HTTPServer(("127.0.0.1", port), Health).serve_forever()
        """))
    apiserver = directory / "kube-apiserver"
    apiserver.write_text("#!/bin/sh\necho 'E1201 bad flag --no-such-thing' >&2\nexit 1\n")
    for name in CONTROL_PLANE:
        path = directory / name
        if not path.exists():
            path.write_text("#!/bin/sh\nexec sleep 600\n")
        path.chmod(0o755)


def test_a_failed_start_stops_what_it_started_and_shows_the_log(tmp_path, monkeypatch):
    _fake_toolchain(tmp_path / "bin")
    monkeypatch.setenv(TOOLCHAIN_BIN_ENV, str(tmp_path / "bin"))
    directory = tmp_path / "cluster"
    with pytest.raises(ClusterError, match="(?s)kube-apiserver exited.*bad flag --no-such-thing"):
        up(ClusterSettings(directory=directory, timeout=60))
    assert State.load(directory) is None  # nothing recorded as running
    assert (directory / "logs" / "etcd.log").is_file()
    assert not (directory / "pki").exists()  # keys are not left behind


def test_a_failed_start_leaves_no_process_running(tmp_path, monkeypatch):
    import psutil

    _fake_toolchain(tmp_path / "bin")
    monkeypatch.setenv(TOOLCHAIN_BIN_ENV, str(tmp_path / "bin"))
    before = {p.pid for p in psutil.process_iter()}
    with pytest.raises(ClusterError):
        up(ClusterSettings(directory=tmp_path / "cluster", timeout=60))
    leftover = [p for p in psutil.process_iter(["cmdline"]) if p.pid not in before and str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    assert leftover == []


def test_cluster_up_without_the_toolchain_names_every_missing_binary(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv(TOOLCHAIN_BIN_ENV, str(tmp_path / "empty"))
    assert cli.main(["cluster", "up", "local"]) == 1
    error = capsys.readouterr().err
    assert "etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok" in error
    assert "scripts/build-toolchain" in error


def test_cluster_down_without_a_cluster_says_so(capsys):
    assert cli.main(["cluster", "down"]) == 0
    assert "nothing to stop" in capsys.readouterr().out


def test_cluster_contexts_and_zones_come_from_the_stack_files():
    from wfdeploy.commands.cluster import settings_for

    settings = settings_for(["local", "alpha"], nodes=2, timeout=60)
    assert settings.contexts == ("wfdeploy-ephemeral", "kind-workflow-platform", "workflow-alpha")
    assert settings.zones == ("eu-west-1a", "eu-west-1b")


def test_cluster_status_without_a_cluster_exits_1_saying_so(capsys):
    assert cli.main(["cluster", "status"]) == 1
    assert "no cluster is up" in capsys.readouterr().out

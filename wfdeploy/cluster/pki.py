"""Certificates and keys of the ephemeral control plane, generated fresh for every cluster.

One CA signs the API server's serving certificate, the serving certificates of
the controller-manager and scheduler, and one client certificate per identity
(the RBAC bootstrap policy binds `system:kube-controller-manager` and
`system:kube-scheduler` to their roles). The service-account signing key is a
separate RSA key pair, as the API server and the token controller expect.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Long enough for any test run, short enough that a leaked file is soon worthless.
VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class Identity:
    """A client certificate: user name (CN) and groups (O)."""

    file_stem: str
    user: str
    groups: tuple[str, ...] = ()


#: Who talks to the API server. kwok plays every node's kubelet and so needs cluster-wide
#: write access to nodes, leases and pod status: it is an administrator, like the operator.
ADMIN = Identity("admin", "wfdeploy-admin", ("system:masters",))
CONTROLLER_MANAGER = Identity("controller-manager", "system:kube-controller-manager")
SCHEDULER = Identity("scheduler", "system:kube-scheduler")
KWOK = Identity("kwok", "wfdeploy-kwok", ("system:masters",))
CLIENTS = (ADMIN, CONTROLLER_MANAGER, SCHEDULER, KWOK)


def _write_key(path: Path, key) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _name(common_name: str, groups: tuple[str, ...] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
    return x509.Name(attributes + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class CertificateAuthority:
    """A throw-away CA whose key never leaves the cluster folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        subject = _name("wfdeploy-ephemeral-ca")
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(self.key, hashes.SHA256())
        )
        _write_key(directory / "ca.key", self.key)
        _write_cert(directory / "ca.crt", self.cert)

    @property
    def cert_file(self) -> Path:
        return self.directory / "ca.crt"

    def issue(self, stem: str, subject: x509.Name, *, server_names: tuple[str, ...] = (), client: bool = False) -> tuple[Path, Path]:
        """Sign a new key's certificate; returns (cert file, key file)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else [ExtendedKeyUsageOID.SERVER_AUTH]
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        )
        if server_names:
            alternatives: list[x509.GeneralName] = []
            for name in server_names:
                try:
                    alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
                except ValueError:
                    alternatives.append(x509.DNSName(name))
            builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        cert_file, key_file = self.directory / f"{stem}.crt", self.directory / f"{stem}.key"
        _write_key(key_file, key)
        _write_cert(cert_file, cert)
        return cert_file, key_file

    def serving(self, stem: str, names: tuple[str, ...]) -> tuple[Path, Path]:
        return self.issue(stem, _name(names[0]), server_names=names)

    def client(self, identity: Identity) -> tuple[Path, Path]:
        return self.issue(f"client-{identity.file_stem}", _name(identity.user, identity.groups), client=True)


def service_account_keys(directory: Path) -> tuple[Path, Path]:
    """The key pair that signs service-account tokens: (private key, public key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = directory / "sa.key", directory / "sa.pub"
    _write_key(private, key)
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public

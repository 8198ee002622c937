"""TLS for the production NATS cluster: a private CA, one certificate per node, and each node's config.

`python -m wanqing.certificates <folder> wanqing-nats-1 wanqing-nats-2 wanqing-nats-3` makes (once; a second
run reuses what exists) `ca.pem` + `ca.key` and `<node>.pem` + `<node>.key`, all owner-only (0600, folder 0700).
Each node certificate names the node, `localhost` and 127.0.0.1, and serves both ends of TLS: clients check the
server, and the cluster's routes are mutual TLS (`verify: true`), so only a holder of a node key joins. Give a
node only its own key; `ca.key` belongs offline once the nodes' certificates are made; clients get `ca.pem`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import string
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from contracts import subjects
from wanqing.embedded import DEPLOY
from wanqing.platform_secrets import OWNER_ONLY_DIR, write_private

__all__ = ["ClusterCertificates", "NodeCertificate", "ensure_cluster_certificates", "main", "render_cluster_node"]

CLUSTER_TEMPLATE = DEPLOY / "nats" / "cluster-node.conf.template"
_CA_DAYS = 3650
_NODE_DAYS = 825  # what browsers and most TLS stacks still accept for a leaf certificate


@dataclass(frozen=True)
class NodeCertificate:
    name: str
    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class ClusterCertificates:
    ca_file: Path  # public: every client and every node gets it
    ca_key_file: Path  # the CA's private key: only to issue node certificates
    nodes: dict[str, NodeCertificate]


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    # Unencrypted: nats-server reads the key at start without a passphrase; the file is owner-only instead.
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{path} is not an EC private key")
    return key


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Wanqing"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ensure_ca(folder: Path) -> tuple[Path, Path]:
    cert_file, key_file = folder / "ca.pem", folder / "ca.key"
    if cert_file.exists() and key_file.exists():
        return cert_file, key_file
    key = _new_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Wanqing NATS CA"))
        .issuer_name(_name("Wanqing NATS CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_file, _pem_key(key))
    write_private(cert_file, cert.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file


def _issue_node(folder: Path, node: str, ca_file: Path, ca_key_file: Path) -> NodeCertificate:
    cert_file, key_file = folder / f"{node}.pem", folder / f"{node}.key"
    if cert_file.exists() and key_file.exists():
        return NodeCertificate(node, cert_file, key_file)
    ca = x509.load_pem_x509_certificate(ca_file.read_bytes())
    ca_key = _load_key(ca_key_file)
    key = _new_key()
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName(node), x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(node))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=_NODE_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        # Server for clients and for the routes it accepts, client for the routes it dials.
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_private(key_file, _pem_key(key))
    write_private(cert_file, cert.public_bytes(serialization.Encoding.PEM))
    return NodeCertificate(node, cert_file, key_file)


def ensure_cluster_certificates(folder: Path, nodes: Sequence[str]) -> ClusterCertificates:
    """The CA and a certificate per node in `folder`, each made once; idempotent."""
    folder.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    folder.chmod(OWNER_ONLY_DIR)
    ca_file, ca_key_file = _ensure_ca(folder)
    issued = {node: _issue_node(folder, subjects.check_token(node, "node"), ca_file, ca_key_file) for node in nodes}
    return ClusterCertificates(ca_file, ca_key_file, issued)


def render_cluster_node(  # noqa: PLR0913 - one node's config has this many facts
    node: NodeCertificate,
    *,
    ca_file: Path,
    store_dir: Path,
    routes: Sequence[str],
    auth: str,
    listen_host: str = "0.0.0.0",  # noqa: S104 - a cluster node serves the network; TLS and nkeys guard it
    client_port: int = 4222,
    cluster_port: int = 6222,
    http_port: int = 8222,
    monitor_host: str = "127.0.0.1",
) -> str:
    """deploy/nats/cluster-node.conf.template filled in for one node.

    `routes`: `host:port` of every node's cluster listener (its own may be among them: the server skips it);
    `auth`: wanqing.nats_auth.accounts_block(...), the same text on every node.
    """
    if not auth.strip():
        raise ValueError("a cluster node needs the accounts block: it never runs open")
    template = string.Template(CLUSTER_TEMPLATE.read_text(encoding="utf-8"))
    return template.substitute(
        name=node.name, listen_host=listen_host, client_port=client_port, cluster_port=cluster_port,
        monitor_host=monitor_host, http_port=http_port, store_dir=str(store_dir), cert_file=str(node.cert_file),
        key_file=str(node.key_file), ca_file=str(ca_file),
        routes="\n".join(f"    nats-route://{route}" for route in routes), auth=auth,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:  # noqa: PLR2004 - a folder and at least one node
        sys.stderr.write("usage: python -m wanqing.certificates <folder> <node> [<node> ...]\n")
        return 2
    made = ensure_cluster_certificates(Path(args[0]), args[1:])
    sys.stdout.write(f"CA: {made.ca_file} (keep {made.ca_key_file} offline)\n")
    for node in made.nodes.values():
        sys.stdout.write(f"{node.name}: {node.cert_file} {node.key_file}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Certificates are verified (a private CA can be given) and env proxies are used except for loopback."""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from backends.base import BackendConfigError, BackendLoadError
from backends.events import Done
from backends.options import RemoteOptions
from backends.remote.http import is_loopback, make_client
from testkit import contract
from testkit.fault_server import connect, fault_server, head, sse, text_of

FINISH = sse(finish="stop") + b"data: [DONE]\n\n"


def hello(conn: socket.socket, attempt: int) -> None:
    conn.sendall(head() + sse("hello") + FINISH)


@pytest.fixture(scope="module")
def private_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1, made with the openssl command."""
    folder = tmp_path_factory.mktemp("pki")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=internlm-tui test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1",
    )  # fmt: skip
    (folder / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n"
    )
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf",
    )  # fmt: skip
    return folder / "ca.pem", folder / "server.pem", folder / "server.key"


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_unknown_certificate_is_refused_with_a_hint(private_ca: tuple[Path, Path, Path]) -> None:
    _ca, cert, key = private_ca
    with fault_server(hello, tls=server_context(cert, key)) as server:
        with pytest.raises(BackendLoadError, match=r"^certificate verification failed .* --ca-file"):
            connect(server.base_url)
        assert server.requests == []  # nothing (and no API key) was sent


def test_private_ca_file_is_trusted(private_ca: tuple[Path, Path, Path]) -> None:
    ca, cert, key = private_ca
    with fault_server(hello, tls=server_context(cert, key)) as server:
        backend = connect(server.base_url, ca_file=str(ca))
        events = contract.check_completes(backend)
    assert text_of(events) == "hello" and server.base_url.startswith("https://")


def test_unreadable_ca_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(BackendConfigError, match="cannot read --ca-file"):
        make_client(RemoteOptions(base_url="https://h/v1", ca_file=str(bad)))


def test_env_proxy_is_used_for_remote_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fault server plays the proxy: it receives absolute-form requests for the real host."""
    with fault_server(hello) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        backend = connect("http://gpu-box.example:23333/v1")
        events = contract.collect(backend)
    assert isinstance(events[-1], Done) and text_of(events) == "hello"
    assert [r.path for r in proxy.requests] == [
        "http://gpu-box.example:23333/v1/models",
        "http://gpu-box.example:23333/v1/chat/completions",
    ]


def test_no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as dead:
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{dead_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with fault_server(hello) as server:
        events = contract.check_completes(connect(server.base_url))
        localhost = connect(server.base_url.replace("127.0.0.1", "localhost"))
        contract.check_completes(localhost)
    assert text_of(events) == "hello"


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://127.5.0.1/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://localhost/v1", True),
        ("http://10.0.0.5:23333/v1", False),
        ("https://api.example.com/v1", False),
    ],
)
def test_is_loopback(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback

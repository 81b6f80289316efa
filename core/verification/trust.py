"""Chromium trusting a private CA (``sim --tls``) for one job, and nothing else.

Chromium has no flag to add a CA, only ``--ignore-certificate-errors-spki-list``, which matches keys of the
certificates the server presents, and a server does not present its root. So the key pinned is the server's own
leaf key, read by a handshake that the CA must vouch for first: a server the CA did not sign is refused here, as
it would be by the service's HTTP client.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HANDSHAKE_TIMEOUT = 10.0


def server_key_pin(url: str, ca_file: str) -> str:
    """The base64 SHA-256 of the SPKI of the certificate the URL's server presents, checked against ``ca_file``."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"a pinned key needs an https URL, got {parts.scheme or 'no'} scheme")
    context = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection((parts.hostname, parts.port or 443), timeout=HANDSHAKE_TIMEOUT) as raw, \
            context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
        der = tls.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError(f"{parts.hostname} presented no certificate")
    spki = x509.load_der_x509_certificate(der).public_key().public_bytes(Encoding.DER,
                                                                        PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()

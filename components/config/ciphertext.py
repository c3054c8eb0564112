"""The form of a `secure:` value, checked offline: a careless plain value must not pass as a secret.

What the Pulumi CLI writes (pulumi/pulumi `sdk/go/common/resource/config/crypt.go`,
`pkg/secrets/cloud`, `pkg/secrets/service`):
- passphrase and cloud providers (`awskms://`, `gcpkms://`, `azurekeyvault://`,
  `hashivault://`) encrypt with AES-256-GCM under the stack's data key:
  `v1:<base64 of the 12-byte nonce>:<base64 of the ciphertext and its 16-byte tag>`;
  their stack files carry `encryptionsalt` (passphrase) or `secretsprovider` and `encryptedkey`;
- Pulumi Cloud (no provider recorded in the stack file) stores the base64 of the
  service's ciphertext, whose inner form is not documented.
Decrypting needs the provider; the form alone already catches a value typed in the clear.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

NONCE_BYTES = 12
TAG_BYTES = 16


def _strict_base64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def uses_data_key(document: dict[str, Any]) -> bool:
    """The stack encrypts with its own data key (passphrase or cloud KMS), so values are `v1:` ciphertexts."""
    return bool(document.get("encryptionsalt") or document.get("secretsprovider"))


def ciphertext_problem(value: Any, *, data_key: bool) -> str | None:
    """Why `value` is not a ciphertext the stack's secrets provider wrote, or None; never echoes the value."""
    if not isinstance(value, str) or not value:
        return "a secure value must be a non-empty ciphertext string written by `pulumi config set --secret`"
    version, _, rest = value.partition(":")
    if version == "v1" or data_key:
        nonce_text, _, sealed_text = rest.partition(":")
        nonce, sealed = _strict_base64(nonce_text), _strict_base64(sealed_text)
        if version != "v1" or nonce is None or sealed is None or len(nonce) != NONCE_BYTES or len(sealed) < TAG_BYTES:
            return (
                "not a Pulumi ciphertext: expected 'v1:<base64 12-byte nonce>:<base64 ciphertext>' as "
                "`pulumi config set --secret` writes it with this stack's secrets provider"
            )
        return None
    if _strict_base64(value) is None:
        return "not a Pulumi ciphertext: expected the base64 text `pulumi config set --secret` writes"
    return None

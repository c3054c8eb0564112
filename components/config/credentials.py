"""What a credential looks like: one definition for the schema and the policy pack.

The schema refuses a stack-file setting that looks like a credential before
anything is rendered; the policy pack (`policies/workflow_policies/rules.py`)
refuses the same in rendered ConfigMaps and literal environment variables.
Every check runs in time linear in its input: the pack and the schema see
values of any size a stack file or a chart can carry.
"""

from __future__ import annotations

import re
from typing import Any

#: What offline synthesis and the tests use in place of every secret value (stated here, below the schema and
#: `secrets`, so that the schema's credential check needs nothing above it).
REDACTED = "<redacted>"

#: Placeholders that mean a secret was written into plain text: ours, and the Pulumi CLI's blinded value.
REDACTED_MARKERS = (REDACTED, "[secret]")

SECRET_NAME_RE = re.compile(r"(?i)(passw(or)?d|secret|token|api[_-]?key|private[_-]?key|access[_-]?key|credential)")
#: Names that point at a secret rather than hold one.
REFERENCE_NAME_RE = re.compile(r"(?i)(_file|_path|_dir|_name|_ref|_key_id|_secret_name|_ttl|_length)$")

#: Characters of a URI scheme (RFC 3986 allows upper case; the pack has only ever matched lower case).
_SCHEME_CHARS = r"a-z0-9+.-"
# A URL whose user info holds a password. The look-behind lets a match start only where a run of scheme characters
# starts, and the scheme's first letter is found without overlapping quantifiers; possessive
# quantifiers (`*+`, `++`) never give back what they took, which changes no match here because
# each is followed by a character its class excludes. A long run of letters costs linear time.
_URL_CREDENTIALS_RE = re.compile(
    rf"(?<![{_SCHEME_CHARS}])[0-9+.-]*+[a-z][{_SCHEME_CHARS}]*+://[^/\s:@]++:[^/\s@$]++@"
)

SECRET_VALUE_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    _URL_CREDENTIALS_RE,
    # horizontal space only: `\s*` after `^` would rescan every following blank line from each line start;
    # possessive again wherever the next token excludes what the quantifier matched
    re.compile(r"(?im)^[ \t]*+(requirepass|masterauth)[ \t]++(?![$\"]?\$)\S+"),
    re.compile(r"(?i)\bpassword\s*+[=:]\s*+(?![$'\"{<]|$)\S+"),
)


def names_a_secret(name: str) -> bool:
    """A name such as `API_TOKEN` or `dbPassword`, but not `TOKEN_FILE` (which points at one)."""
    return bool(SECRET_NAME_RE.search(name)) and not REFERENCE_NAME_RE.search(name)


def holds_a_secret(value: str) -> bool:
    """A value that is a credential (private key, access key id, URL with a password, …) or a redacted one."""
    if any(marker in value for marker in REDACTED_MARKERS):
        return True  # a Pulumi secret was written into plain text
    return any(pattern.search(value) for pattern in SECRET_VALUE_PATTERNS)


def looks_secret(name: str, value: Any) -> bool:
    """A literal, non-empty string value that is, or names itself, a credential."""
    if not isinstance(value, str) or not value:
        return False
    return names_a_secret(name) or holds_a_secret(value)

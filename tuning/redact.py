"""Secrets kept out of what leaves the machine: MLflow params, tags and artifacts, export bundles and reports.

A secret is the value of an environment variable whose name looks like a credential (token, key, secret,
password, auth) or the credentials in a URL (`scheme://user:password@host`, `https://token@host`, e.g. a
tracking URI). Stdlib only: export and report use it without MLflow or Ray.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

SECRET_NAME = re.compile(r"TOKEN|SECRET|PASS|KEY|CREDENTIAL|AUTH", re.IGNORECASE)
# user:password@ up to the last @ before the path (a password may hold an @); a bare token@ in an http(s) URL.
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*):[^/\s]*@", re.IGNORECASE)
URL_TOKEN = re.compile(r"(?P<head>https?://)[^:/@\s]+@", re.IGNORECASE)
MASK = "***"
MIN_LENGTH = 6  # shorter values ("1", "token", "true") are settings, and masking them would garble text


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of credential-like variables, longest first (so a secret inside another is masked whole)."""
    environ = os.environ if environ is None else environ
    found = {value for name, value in environ.items() if SECRET_NAME.search(name) and len(value) >= MIN_LENGTH}
    return sorted(found, key=len, reverse=True)


def redact(text: str, environ: Mapping[str, str] | None = None, secrets: list[str] | None = None) -> str:
    """`text` with URL passwords and credential-like variables' values replaced by ***. `secrets`: the
    `secret_values` when the caller masks many texts at once."""
    text = URL_PASSWORD.sub(rf"\g<head>:{MASK}@", text)
    text = URL_TOKEN.sub(rf"\g<head>{MASK}@", text)
    for value in secret_values(environ) if secrets is None else secrets:
        text = text.replace(value, MASK).replace(json.dumps(value)[1:-1], MASK)  # also as escaped in JSON
    return text


def strip_credentials(url: str) -> str:
    """`url` without its `user:password@` or `token@` (urllib cannot send them)."""
    return re.sub(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", r"\g<scheme>", url, count=1, flags=re.IGNORECASE)

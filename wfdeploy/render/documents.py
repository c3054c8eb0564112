"""How build/<stage>/ files are serialized (one YAML and one JSON style, so the same input gives the same bytes) and read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """Block-style YAML; multi-line strings (scripts, configs) as literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(document: Any) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=120)


#: libyaml's loader where PyYAML was built with it (about ten times faster; the same objects for these files).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """A rendered file read back by a gate."""
    return yaml.load(path.read_text(), Loader=_Loader)


def dump_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"

"""Parsing a stack file's YAML as strictly as the Pulumi CLI does, and no further.

PyYAML accepts what Pulumi's reader refuses (a repeated key: the last one
wins) and builds values Pulumi never hands a program (dates, binary, sets).
Here every such document is refused with the key path and the line, before
any value is built: a file that validates is a file `pulumi up` reads.
"""

from __future__ import annotations

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Problem

#: A stack file larger than this is refused unread: the largest in the repository is a few KiB.
MAX_STACK_FILE_BYTES = 1024 * 1024
#: Values a document may hold once aliases are expanded (a few hundred today): stops an alias bomb.
MAX_VALUES = 100_000
#: Mappings and lists inside one another: the schema's deepest key is seven levels down.
MAX_DEPTH = 32
#: Digits of a number: longer ones are not configuration (and Python refuses to print them).
MAX_NUMBER_LENGTH = 64

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null")}
_MERGE_TAG = f"{_TAG}merge"


class _StackFileLoader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps: Pulumi hands an unquoted date to a program as its text."""


_StackFileLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != f"{_TAG}timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class StackYamlError(Exception):
    """The document is not one the Pulumi CLI would read; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    if not path:
        return part
    # the keys directly under `config:` are written whole ('project:key'); below them, a dotted path
    return f"{part}" if path == "config" else f"{path}.{part}"


class _Checker:
    """Walks the node graph once per node (aliases are shared), counting values as if expanded."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.sizes: dict[int, int] = {}
        self.open: set[int] = set()

    def size(self, node: Node, path: str, depth: int) -> int:
        if id(node) in self.sizes:
            return self.sizes[id(node)]
        if id(node) in self.open:
            self.problems.append(Problem(path or "(file)", f"an alias refers to a value that contains it (line {_line(node)})"))
            return MAX_VALUES + 1
        if depth > MAX_DEPTH:
            self.problems.append(Problem(path or "(file)", f"nested more than {MAX_DEPTH} levels deep (line {_line(node)})"))
            return MAX_VALUES + 1
        self.open.add(id(node))
        try:
            total = self._size(node, path, depth)
        finally:
            self.open.discard(id(node))
        self.sizes[id(node)] = total
        return total

    def _size(self, node: Node, path: str, depth: int) -> int:
        at = path or "(file)"
        if isinstance(node, ScalarNode):
            if node.tag not in _SCALAR_TAGS:
                self.problems.append(Problem(at, f"YAML tag {node.tag!r} is not supported (line {_line(node)}); "
                                             "write a string, number, boolean or null"))
            elif node.tag in (f"{_TAG}int", f"{_TAG}float") and len(node.value) > MAX_NUMBER_LENGTH:
                self.problems.append(Problem(at, f"a number longer than {MAX_NUMBER_LENGTH} characters (line {_line(node)})"))
            return 1
        if isinstance(node, SequenceNode):
            if node.tag != f"{_TAG}seq":
                self.problems.append(Problem(at, f"YAML tag {node.tag!r} is not supported (line {_line(node)}); write a list"))
            return 1 + sum(self.size(item, _join(path, index), depth + 1) for index, item in enumerate(node.value))
        if isinstance(node, MappingNode):
            return self._mapping_size(node, path, depth)
        return 1

    def _mapping_size(self, node: MappingNode, path: str, depth: int) -> int:
        at = path or "(file)"
        if node.tag != f"{_TAG}map":
            self.problems.append(Problem(at, f"YAML tag {node.tag!r} is not supported (line {_line(node)}); write a mapping"))
        total, first_line = 1, {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                total += self.size(value_node, path, depth + 1)  # `<<: *defaults`: its keys are checked where defined
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag != f"{_TAG}str":
                shown = key_node.value if isinstance(key_node, ScalarNode) else type(key_node).__name__
                self.problems.append(Problem(at, f"mapping key {shown!r} on line {_line(key_node)} is not a string; quote it"))
                continue
            key = key_node.value
            if key in first_line:
                self.problems.append(
                    Problem(
                        _join(path, key),
                        f"duplicate key (lines {first_line[key]} and {_line(key_node)}); "
                        "the Pulumi CLI refuses a stack file that repeats a key",
                    )
                )
            first_line.setdefault(key, _line(key_node))
            total += self.size(value_node, _join(path, key), depth + 1)
        return total


def load_stack_yaml(text: str):
    """The document in `text`, built only after every check passed; raise `StackYamlError` or `yaml.YAMLError`."""
    loader = _StackFileLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise StackYamlError([Problem("(file)", f"nested more than {MAX_DEPTH} levels deep")]) from None
        if node is None:
            return None
        checker = _Checker()
        total = checker.size(node, "", 0)
        if total > MAX_VALUES and not checker.problems:
            checker.problems.append(Problem("(file)", f"holds more than {MAX_VALUES} values (aliases counted as expanded)"))
        if checker.problems:
            raise StackYamlError(checker.problems)
        return loader.construct_document(node)
    finally:
        loader.dispose()

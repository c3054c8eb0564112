"""Reading the repository's markdown: files, fenced blocks, inline code, links, headings and tables.

A small parser of the CommonMark subset the documents use, so that the doc tests
can name the file and line of every defect they find.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.stagehelpers import PROJECT_ROOT

#: Fence languages whose blocks are shell commands meant to run as written.
SHELL_LANGUAGES = {"sh", "bash", "shell", "console", "shell-session", "zsh"}
#: Top-level folders of the repository: a code span starting with one of these is a path that must exist.
REPO_DIRS = (
    "components", "wfdeploy", "tests", "scripts", "tools", "policies", "charts", "stacks", "runbooks",
    "docs", "benchmarks", "loadtest", "local", "reference_service", "requirements", ".github",
)
_REPO_PATH = re.compile(r"^(?:\./)?(?:%s)(?:/[\w.\-]+)*/?(?:::[\w\[\]\-]+)?$" % "|".join(re.escape(d) for d in REPO_DIRS))
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_LINK = re.compile(r"!?\[(?P<text>(?:[^\[\]]|\[[^\]]*\])*)\]\((?P<target><[^>]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)(?:\s+\"[^\"]*\")?\)")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s+(\S+)")
_HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
_REDIRECTION = re.compile(r"(?:^|(?<=\s))\d*(?:>>|>&|&>|>|<)\s*(?:&\d+|[^\s;&|()]+)")
_TEMPLATE = re.compile(r"\{\{.*?\}\}")
_TEMPLATE_TAG = re.compile(r"\{%.*?%\}")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")


@dataclass(frozen=True)
class Block:
    """A fenced code block."""

    path: Path
    line: int  # line of the opening fence, 1-based
    language: str
    text: str

    @property
    def where(self) -> str:
        return f"{relative(self.path)}:{self.line}"


@dataclass(frozen=True)
class Span:
    """An inline code span, a link target or a table cell, with its position."""

    path: Path
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{relative(self.path)}:{self.line}"


def relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix() if path.is_relative_to(PROJECT_ROOT) else str(path)


@cache
def markdown_files() -> tuple[Path, ...]:
    """Every markdown file of the repository (tracked or not yet tracked, never ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", "*.md"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    return tuple(sorted(PROJECT_ROOT / name for name in set(listed) if (PROJECT_ROOT / name).is_file()))


@cache
def _parse(path: Path) -> tuple[tuple[Block, ...], tuple[tuple[int, str], ...]]:
    """(fenced blocks, prose lines outside any fence) of one file."""
    blocks: list[Block] = []
    prose: list[tuple[int, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            prose.append((index + 1, lines[index]))
            index += 1
            continue
        fence, indent = match["fence"], len(match["indent"].expandtabs())
        language = match["info"].strip().split(" ")[0].lower() if match["info"].strip() else ""
        start, body = index + 1, []
        index += 1
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            if closing and closing["fence"][0] == fence[0] and len(closing["fence"]) >= len(fence) and not closing["info"].strip():
                break
            line = lines[index]
            # a fence inside a list item is indented: drop that much leading space from its lines
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            index += 1
        index += 1
        blocks.append(Block(path, start, language, "\n".join(body) + "\n"))
    return tuple(blocks), tuple(prose)


def fenced_blocks(path: Path) -> tuple[Block, ...]:
    return _parse(path)[0]


def prose_lines(path: Path) -> tuple[tuple[int, str], ...]:
    return _parse(path)[1]


def shell_blocks(path: Path) -> list[Block]:
    return [block for block in fenced_blocks(path) if block.language in SHELL_LANGUAGES]


def block_script(block: Block) -> str:
    """The shell text of a block: a console block's `$ ` lines (and their continuations), else all of it."""
    if block.language not in {"console", "shell-session"}:
        return block.text
    script: list[str] = []
    continuing = False
    for line in block.text.splitlines():
        if line.startswith("$ ") or continuing:
            command = line[2:] if line.startswith("$ ") and not continuing else line
            script.append(command)
            continuing = command.rstrip().endswith("\\")
    return "\n".join(script) + "\n"


def untemplated(text: str) -> str:
    """A runbook template's text (Jinja2) with each `{{ … }}` placeholder standing for one word."""
    return _TEMPLATE.sub("placeholder", _TEMPLATE_TAG.sub("", text))


def code_spans(path: Path) -> list[Span]:
    spans = []
    for number, line in prose_lines(path):
        for match in _CODE_SPAN.finditer(line):
            spans.append(Span(path, number, match.group(2).strip()))
    return spans


def _without_code(line: str) -> str:
    return _CODE_SPAN.sub("", line)


def link_targets(path: Path) -> list[Span]:
    """Targets of inline links, images and reference definitions outside code."""
    targets = []
    for number, line in prose_lines(path):
        text = _without_code(line)
        for match in _LINK.finditer(text):
            targets.append(Span(path, number, match["target"].strip("<>")))
        definition = _REFERENCE_DEFINITION.match(text)
        if definition:
            targets.append(Span(path, number, definition.group(1)))
    return targets


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation removed, spaces to dashes."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links keep their text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").lower()
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return kept.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every anchor a link may name in the file: heading slugs (with GitHub's -1, -2 suffixes) and <a id>."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for _, line in prose_lines(path):
        heading = _HEADING.match(line)
        if heading:
            slug = _slug(heading.group(2))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
        found.update(_HTML_ANCHOR.findall(line))
    return frozenset(found)


def headings(path: Path) -> list[tuple[int, str]]:
    """(level, text) of every heading."""
    result = []
    for _, line in prose_lines(path):
        heading = _HEADING.match(line)
        if heading:
            result.append((len(heading.group(1)), heading.group(2)))
    return result


def section_text(path: Path, title: str) -> str:
    """The prose and blocks under a heading, up to the next heading of the same or a higher level."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    level = None
    in_fence = False
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading and level is not None and len(heading.group(1)) <= level:
            break
        if level is not None:
            out.append(line)
        if heading and level is None and heading.group(2).strip() == title:
            level = len(heading.group(1))
    if level is None:
        raise LookupError(f"{relative(path)} has no heading {title!r}")
    return "\n".join(out)


def tables(text: str) -> list[list[list[str]]]:
    """Pipe tables in a piece of markdown: a list of rows (header first, separator dropped) of cells."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines() + [""]:
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", stripped[1:-1])]
            if not all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def is_repo_path(text: str) -> bool:
    return bool(_REPO_PATH.match(text))


def shell_commands(script: str) -> list[list[str]]:
    """Simple commands of a shell script as token lists (split at ; & | ( ) and newlines, comments dropped)."""
    script = script.replace("\\\n", " ")
    commands: list[list[str]] = []
    for line in script.splitlines():
        line = _REDIRECTION.sub(" ", line)
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        current: list[str] = []
        try:
            tokens = list(lexer)
        except ValueError:  # an unbalanced quote spans lines; bash -n judges that
            continue
        for token in tokens:
            if token and set(token) <= set(";&|()<>"):
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(token)
        if current:
            commands.append(current)
    return commands

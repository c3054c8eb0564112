"""Constrained value types for stack configuration.

Each type validates at the boundary and explains what it expected, so a bad
stack file fails with a sentence instead of a broken manifest.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel


#: Longest string any key takes unless its field says otherwise: names, URLs, image references, … are far shorter.
MAX_STRING_LENGTH = 1024
#: Most entries of any list or mapping in a section: the longest today (CIDR lists, receivers) hold a handful.
MAX_ITEMS = 256


class Section(BaseModel):
    """Base for every config section: camelCase keys, unknown keys rejected, frozen, every size bounded."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_max_length=MAX_STRING_LENGTH,
    )

    @model_validator(mode="before")
    @classmethod
    def _bounded_collections(cls, data: Any) -> Any:
        # before any field is validated: a huge list is refused without walking it
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, (list, dict)) and len(value) > MAX_ITEMS:
                    raise ValueError(f"{key} has {len(value)} entries; at most {MAX_ITEMS}")
        return data


# -- image references -------------------------------------------------------

_IMAGE_RE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def parse_image(value: str) -> tuple[str, str | None, str | None]:
    """Split an OCI image reference into (name, tag, digest); raise ValueError if malformed."""
    match = _IMAGE_RE.match(value)
    if not match or not (match["tag"] or match["digest"]):
        raise ValueError(
            "expected an image reference 'registry/name:tag', 'registry/name@sha256:<64 hex>' "
            f"or both, got {value!r}"
        )
    return match["name"], match["tag"], match["digest"]


def is_digest_pinned(image: str) -> bool:
    return parse_image(image)[2] is not None


def _check_image(value: str) -> str:
    _, tag, digest = parse_image(value)
    if tag == "latest" and not digest:
        raise ValueError(f"the mutable tag 'latest' is not allowed, got {value!r}")
    return value


ImageRef = Annotated[str, AfterValidator(_check_image)]


# -- durations ---------------------------------------------------------------

_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNIT_SECONDS = (86400, 3600, 60, 1)


def duration_seconds(value: str) -> int:
    """Seconds in a Prometheus-style duration such as '90s', '5m', '1h30m' or '7d'."""
    match = _DURATION_RE.match(value or "")
    if not value or not match or not any(match.groups()):
        raise ValueError(f"expected a duration like '30s', '5m', '1h' or '7d', got {value!r}")
    seconds = sum(int(part) * unit for part, unit in zip(match.groups(), _UNIT_SECONDS) if part)
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return seconds


def _check_duration(value: str) -> str:
    duration_seconds(value)
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]


# -- cron schedules ----------------------------------------------------------

_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))


def _check_cron_field(field: str, name: str, low: int, high: int) -> None:
    for part in field.split(","):
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            raise ValueError(f"{name} step {step!r} must be a positive number")
        if base == "*":
            continue
        start, _, end = base.partition("-")
        for number in (start, end) if end else (start,):
            if not number.isdigit() or not low <= int(number) <= high:
                raise ValueError(f"{name} {number!r} is outside {low}-{high}")


def cron_fields(value: str) -> list[str]:
    """The five fields of a standard cron expression; raise ValueError if malformed."""
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(f"expected a five-field cron expression like '15 2 * * *', got {value!r}")
    for field, (name, low, high) in zip(fields, _CRON_FIELDS):
        try:
            _check_cron_field(field, name, low, high)
        except ValueError as err:
            raise ValueError(f"cron expression {value!r}: {err}") from None
    return fields


def _cron_values(field: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in field.split(","):
        base, _, step = part.partition("/")
        start, _, end = base.partition("-")
        first, last = (low, high) if base == "*" else (int(start), int(end) if end else int(start))
        if step and not end and base != "*":
            last = high  # '5/15' means from 5 to the end of the range
        values.update(range(first, last + 1, int(step) if step else 1))
    return values


def cron_max_interval_seconds(value: str) -> int:
    """The longest gap between two consecutive runs of a cron schedule (over eight years, leap days included)."""
    import datetime

    minute, hour, dom, month, dow = cron_fields(value)
    minutes = sorted(_cron_values(minute, 0, 59))
    hours = sorted(_cron_values(hour, 0, 23))
    days, months = _cron_values(dom, 1, 31), _cron_values(month, 1, 12)
    weekdays = {day % 7 for day in _cron_values(dow, 0, 7)}
    offsets = [h * 60 + m for h in hours for m in minutes]
    inner_gap = max((b - a for a, b in zip(offsets, offsets[1:])), default=0)
    start = datetime.date(2024, 1, 1)
    matching = []
    for index in range(8 * 366 + 7):
        day = start + datetime.timedelta(days=index)
        by_dom, by_dow = day.day in days, day.isoweekday() % 7 in weekdays
        # standard cron: when both day fields are restricted, either one matching is enough
        day_ok = (by_dom or by_dow) if dom != "*" and dow != "*" else (by_dom and by_dow)
        if day.month in months and day_ok:
            matching.append(index)
    if len(matching) < 2:
        raise ValueError(f"cron expression {value!r} runs less than twice in eight years")
    outer_gap = max(((b - a) * 1440 + offsets[0] - offsets[-1] for a, b in zip(matching, matching[1:])), default=0)
    return max(inner_gap, outer_gap, 0) * 60


def _check_cron(value: str) -> str:
    cron_fields(value)
    return value


Cron = Annotated[str, AfterValidator(_check_cron)]


# -- networks and quantities ---------------------------------------------------


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError(f"expected a CIDR block like '10.0.0.0/16', got {value!r}") from None
    return value


Cidr = Annotated[str, AfterValidator(_check_cidr)]

_CPU_RE = re.compile(r"^(\d+m|\d+(\.\d+)?)$")
_MEMORY_RE = re.compile(r"^\d+(Ki|Mi|Gi|Ti)?$")


def cpu_millicores(value: str) -> int:
    if not _CPU_RE.match(value):
        raise ValueError(f"expected a CPU quantity like '250m' or '1', got {value!r}")
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


def memory_bytes(value: str) -> int:
    if not _MEMORY_RE.match(value):
        raise ValueError(f"expected a memory quantity like '256Mi' or '2Gi', got {value!r}")
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    suffix = value[-2:]
    return int(value[:-2]) * units[suffix] if suffix in units else int(value)


def _check_cpu(value: str) -> str:
    if cpu_millicores(value) <= 0:
        raise ValueError(f"expected a positive CPU quantity, got {value!r}")
    return value


def _check_memory(value: str) -> str:
    if memory_bytes(value) <= 0:
        raise ValueError(f"expected a positive memory quantity, got {value!r}")
    return value


CpuQuantity = Annotated[str, AfterValidator(_check_cpu)]
MemoryQuantity = Annotated[str, AfterValidator(_check_memory)]

class ComputeResources(Section):
    """Requests and limits for one container (here rather than in schema.py so every section module can use it)."""

    cpu_request: CpuQuantity
    memory_request: MemoryQuantity
    cpu_limit: CpuQuantity
    memory_limit: MemoryQuantity

    @model_validator(mode="after")
    def _requests_within_limits(self) -> "ComputeResources":
        if cpu_millicores(self.cpu_request) > cpu_millicores(self.cpu_limit):
            raise ValueError(f"cpuRequest {self.cpu_request} exceeds cpuLimit {self.cpu_limit}")
        if memory_bytes(self.memory_request) > memory_bytes(self.memory_limit):
            raise ValueError(f"memoryRequest {self.memory_request} exceeds memoryLimit {self.memory_limit}")
        return self

    def as_kubernetes(self) -> dict:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


_DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _check_dns_label(value: str) -> str:
    if not _DNS_LABEL_RE.match(value):
        raise ValueError(f"expected a DNS label (lower-case letters, digits, '-', at most 63), got {value!r}")
    return value


DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]

_DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _check_dns_subdomain(value: str) -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN_RE.match(value):
        raise ValueError(f"expected a DNS subdomain (lower-case letters, digits, '-', '.', at most 253), got {value!r}")
    return value


#: Names of cluster objects such as StorageClasses (Kubernetes: RFC 1123 subdomain).
DnsSubdomain = Annotated[str, AfterValidator(_check_dns_subdomain)]

"""Hold a running service to its own OpenAPI document.

Two tools over one document, both knowing no service:

- :func:`fuzz` draws schemathesis cases for every operation (positive: what the document
  allows), sends them to the app in-process and checks every answer: no server error, a
  documented status code, the documented content type, a body matching the documented
  schema, the documented headers. It counts the statuses, so a test can prove the fuzzer
  got past validation: every write operation reached a 2xx.
- :func:`string_inputs` lists every string field of every request body and every string
  query parameter the document declares (through ``$ref``, ``anyOf``, arrays and nested
  objects), each with a request that is valid but for that field: the base is the body
  example the document gives for the operation, which must name every field.

What no document can say, the test supplies as a :class:`Binder`: a valid token, the ids of
records that exist, the ETag to send as ``If-Match``, a person who may consent. A binder
called with ``honest=False`` supplies only the token, so the generated ids and ETags reach the
service as drawn (the 404, 409 and 428 answers are held to the document too).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from oneplan_events.types import EARLIEST_DATE, LATEST_DATE

__all__ = [
    "CHECKS",
    "Binder",
    "Call",
    "FuzzReport",
    "OperationResult",
    "StringInput",
    "SweepReport",
    "apply",
    "fuzz",
    "hostile_values",
    "send",
    "string_inputs",
    "sweep",
]


def not_a_server_error_nor_undocumented_unavailability(
    ctx: CheckContext, response: schemathesis.Response, case: AnyCase
) -> bool | None:
    """schemathesis' ``not_a_server_error``, but a 503 is allowed where the operation is
    readiness (``/readyz`` says 503 when a dependency is down; the test environment's replica
    may be catching up). Anywhere else a 503 is a failure: the fuzz runs with every
    dependency up."""
    if response.status_code == 503 and case.operation.path in _MAY_BE_UNAVAILABLE:
        return None
    return not_a_server_error(ctx, response, case)


_MAY_BE_UNAVAILABLE = frozenset({"/readyz"})

CHECKS = (
    not_a_server_error_nor_undocumented_unavailability,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
)
"""What every answer is held to."""

AnyCase = schemathesis.Case[Any]

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HONEST_IN_TEN = 8  # how many cases in ten the binder fills with live state


@dataclass
class Call:
    """One request, before it is sent: what a binder may change."""

    method: str
    path: str
    """The path template, e.g. ``/v1/children/{child_id}``."""
    path_parameters: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def url(self) -> str:
        """The path with its parameters filled in."""
        url = self.path
        for name, value in self.path_parameters.items():
            url = url.replace("{" + name + "}", quote(str(value), safe=""))
        return url


class Binder(Protocol):
    """Puts what the document cannot say into a call: a token always; with ``honest``, the
    live state (ids of records that exist, the current ETag, references in the body)."""

    async def bind(self, call: Call, honest: bool) -> None: ...


async def send(client: httpx.AsyncClient, call: Call) -> httpx.Response:
    """Send ``call`` through ``client`` (the app in-process)."""
    return await client.request(
        call.method,
        call.url(),
        headers=call.headers,
        params=call.query or None,
        json=call.body if call.has_body else None,
    )


# -- fuzzing ------------------------------------------------------------------------------


@dataclass
class OperationResult:
    """What the fuzzer saw at one operation."""

    label: str
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, str] = field(default_factory=dict)
    """The first failure of each kind: its title, then the report with the request."""
    samples: dict[int, str] = field(default_factory=dict)
    """The first answer of each status (its start), to see why cases were refused."""

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())

    @property
    def successes(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def is_write(self) -> bool:
        return self.label.split(" ", 1)[0] in _WRITES


@dataclass
class FuzzReport:
    """Every operation's result, and how long the run took."""

    results: dict[str, OperationResult]
    seconds: float

    @property
    def cases(self) -> int:
        return sum(result.cases for result in self.results.values())

    def failures(self) -> list[str]:
        return [
            f"{label}: {report}"
            for label, result in self.results.items()
            for report in result.failures.values()
        ]

    def writes_without_success(self) -> list[str]:
        return [
            label
            for label, result in self.results.items()
            if result.is_write and result.successes == 0
        ]

    def summary(self) -> str:
        lines = [f"{self.cases} cases in {self.seconds:.1f} s"]
        for label, result in sorted(self.results.items()):
            statuses = ", ".join(f"{s}: {n}" for s, n in sorted(result.statuses.items()))
            lines.append(f"  {label}: {result.cases} cases, {result.successes} 2xx ({statuses})")
        return "\n".join(lines)


def _dates() -> st.SearchStrategy[str]:
    # The documented range (formatMinimum/formatMaximum, which the generator does not read),
    # half of the draws up to today so that "not in the future" fields pass as often as not.
    return st.one_of(
        st.dates(EARLIEST_DATE, date.today()), st.dates(EARLIEST_DATE, LATEST_DATE)
    ).map(date.isoformat)


_OFFSETS = (UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30)))


def _datetimes() -> st.SearchStrategy[str]:
    now = datetime.now(UTC).replace(tzinfo=None)
    near = st.datetimes(now - timedelta(days=400), now + timedelta(days=400))
    anywhere = st.datetimes(
        datetime.combine(EARLIEST_DATE, datetime.min.time()) + timedelta(days=1),
        datetime.combine(LATEST_DATE, datetime.min.time()) - timedelta(days=1),
    )
    return st.builds(
        lambda moment, offset: moment.replace(tzinfo=offset).isoformat(),
        st.one_of(near, anywhere),
        st.sampled_from(_OFFSETS),
    )


def _register_formats() -> None:
    schemathesis.openapi.format("date", _dates())
    schemathesis.openapi.format("date-time", _datetimes())


async def fuzz(
    document: Mapping[str, Any],
    client: httpx.AsyncClient,
    binder: Binder,
    *,
    max_examples: int,
    derandomize: bool | None = None,
) -> FuzzReport:
    """Fuzz every operation of ``document`` against the app behind ``client``.

    The cases are the same every run (``derandomize``) unless ``ONEPLAN_FUZZ_RANDOM=1``: a
    contract test must not pass or fail by chance; set it to explore further.

    Hypothesis runs in a worker thread (it drives a synchronous test); each case is bound,
    sent and checked on the running loop, where the app lives.
    """
    _register_formats()
    if derandomize is None:
        derandomize = os.environ.get("ONEPLAN_FUZZ_RANDOM") != "1"
    loop = asyncio.get_running_loop()
    schema = schemathesis.openapi.from_dict(copy.deepcopy(dict(document)))
    results: dict[str, OperationResult] = {}

    async def one(case: AnyCase, honest: bool, result: OperationResult) -> None:
        call = _call_of(case)
        await binder.bind(call, honest)
        _write_back(call, case)
        response = await send(client, call)
        result.statuses[response.status_code] += 1
        result.samples.setdefault(response.status_code, response.text[:600])
        try:
            case.validate_response(response, checks=list(CHECKS))
        except FailureGroup as group:
            for failure in group.exceptions:
                result.failures.setdefault(failure.title, f"{failure.title}\n{group}"[:4000])

    def run_case(case: AnyCase, honest: bool, result: OperationResult) -> None:
        future = asyncio.run_coroutine_threadsafe(one(case, honest, result), loop)
        future.result(timeout=60)

    def run_all() -> None:
        for operation in schema.get_all_operations():
            if isinstance(operation, Err):
                raise operation.err()  # the document itself is broken
            api_operation = operation.ok()
            label = f"{api_operation.method.upper()} {api_operation.path}"
            result = results.setdefault(label, OperationResult(label))
            _examples(
                api_operation.as_strategy(),
                functools.partial(run_case, result=result),
                max_examples=max_examples,
                derandomize=derandomize,
            )

    started = time.monotonic()
    await asyncio.to_thread(run_all)
    return FuzzReport(results, time.monotonic() - started)


def _examples(
    cases: st.SearchStrategy[AnyCase],
    run_case: Callable[[AnyCase, bool], None],
    *,
    max_examples: int,
    derandomize: bool,
) -> None:
    """Run ``run_case`` on ``max_examples`` drawn cases, most of them bound honestly.

    Only generation: a failure is recorded, not raised, so nothing is shrunk.
    """

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, dice=st.integers(0, 9))
    def run(case: AnyCase, dice: int) -> None:
        run_case(case, dice < _HONEST_IN_TEN)

    run()


def _call_of(case: AnyCase) -> Call:
    body = case.body
    has_body = not isinstance(body, type(schemathesis.core.NOT_SET))
    return Call(
        method=case.method.upper(),
        path=case.path,
        path_parameters=dict(case.path_parameters or {}),
        headers={str(k): str(v) for k, v in (case.headers or {}).items()},
        query=dict(case.query or {}),
        body=body if has_body else None,
        has_body=has_body,
    )


def _write_back(call: Call, case: AnyCase) -> None:
    # The checks read the case (e.g. which status codes its operation documents); keep it
    # in step with what is sent.
    case.path_parameters = call.path_parameters
    case.headers = CaseInsensitiveDict(call.headers)
    case.query = call.query
    if call.has_body:
        case.body = call.body


# -- every string input, for the hostile sweep ----------------------------------------------


@dataclass(frozen=True)
class StringInput:
    """One string the document lets a caller send, and a valid request around it."""

    operation: str
    """``METHOD /path``."""
    location: tuple[str | int, ...]
    """Where the service reports it: ``("body", "address", "lines", 0)``, ``("query", "x")``."""
    format: str | None
    """``date``, ``date-time``, ``uuid``... or None."""
    free_text: bool
    """A string with no format, pattern or enum: the text rule is all that bounds it."""
    example: str
    """The value the document's example gives it (the base the hostile value is built on)."""


@dataclass
class Operation:
    """An operation with input: its template call (the document's example body) and its
    string inputs."""

    method: str
    path: str
    inputs: list[StringInput]
    base_body: Any = None
    has_body: bool = False
    missing: list[str] = field(default_factory=list)
    """Fields the document declares but its example leaves out (not covered: a fault)."""
    path_parameters: list[str] = field(default_factory=list)
    required_headers: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def call(self) -> Call:
        """A fresh call with the example body (deep-copied); the path parameters and the
        required headers hold placeholders for the binder to fill."""
        return Call(
            self.method,
            self.path,
            path_parameters=dict.fromkeys(self.path_parameters, _PLACEHOLDER_ID),
            headers=dict.fromkeys(self.required_headers, '"0"'),
            body=copy.deepcopy(self.base_body),
            has_body=self.has_body,
        )


def apply(call: Call, values: Mapping[tuple[str | int, ...], str]) -> Call:
    """``call`` with each location set to its value (a body that may also be an array of
    such objects is sent as one when a location says so)."""
    for location, value in values.items():
        where, *rest = location
        if where == "query":
            call.query[str(rest[0])] = value
            continue
        if rest and isinstance(rest[0], int) and isinstance(call.body, dict):
            call.body = [call.body]
        _set(call.body, rest, value)
    return call


def _set(container: Any, path: list[str | int], value: str) -> None:
    for step in path[:-1]:
        container = container[step]
    container[path[-1]] = value


_PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000"


def string_inputs(document: Mapping[str, Any]) -> list[Operation]:
    """Every operation that reads a string from a body or the query, with those strings."""
    operations: list[Operation] = []
    for path, methods in document.get("paths", {}).items():
        for method, spec in methods.items():
            operation = Operation(method.upper(), path, [])
            label = operation.label
            for parameter in spec.get("parameters", []):
                if parameter.get("in") == "path":
                    operation.path_parameters.append(parameter["name"])
                if parameter.get("in") == "header" and parameter.get("required"):
                    operation.required_headers.append(parameter["name"])
                if parameter.get("in") != "query":
                    continue
                schema = _resolve(document, parameter.get("schema", {}))
                for branch in _branches(document, schema):
                    if branch.get("type") == "string":
                        operation.inputs.append(
                            _input(label, ("query", parameter["name"]), branch, "")
                        )
            body = spec.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                example = _example_of(body)
                operation.has_body = True
                operation.base_body = example
                if example is None:
                    operation.missing.append("the request body has no example")
                else:
                    _walk(document, body["schema"], example, ("body",), label, operation)
            if operation.inputs or operation.missing:
                operations.append(operation)
    return operations


def _example_of(media: Mapping[str, Any]) -> Any:
    if "example" in media:
        return media["example"]
    examples = media.get("examples") or {}
    for example in examples.values():
        return example.get("value")
    return None


def _resolve(document: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = document
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return dict(schema)


def _branches(document: Mapping[str, Any], schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a schema (itself when it has none)."""
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            found: list[dict[str, Any]] = []
            for branch in schema[keyword]:
                resolved = _resolve(document, branch)
                if resolved.get("type") != "null":
                    found.extend(_branches(document, resolved))
            return found
    return [_resolve(document, schema)]


def _walk(
    document: Mapping[str, Any],
    schema: Mapping[str, Any],
    example: Any,
    location: tuple[str | int, ...],
    label: str,
    operation: Operation,
) -> None:
    for branch in _branches(document, schema):
        kind = branch.get("type")
        if kind == "string" and isinstance(example, str):
            operation.inputs.append(_input(label, location, branch, example))
        elif kind == "object" and isinstance(example, dict):
            for name, child in branch.get("properties", {}).items():
                if example.get(name) is None:
                    operation.missing.append(".".join(map(str, (*location, name))))
                    continue
                _walk(document, child, example[name], (*location, name), label, operation)
        elif kind == "array":
            items = branch.get("items", {})
            if isinstance(example, list) and example:
                _walk(document, items, example[0], (*location, 0), label, operation)
            elif isinstance(example, dict) and location == ("body",):
                # A body of one object or an array of them: the array's item is the example.
                _walk(document, items, example, (*location, 0), label, operation)
            else:
                operation.missing.append(".".join(map(str, (*location, 0))))


def _input(
    label: str, location: tuple[str | int, ...], schema: Mapping[str, Any], example: str
) -> StringInput:
    constrained = any(key in schema for key in ("format", "pattern", "enum", "const"))
    return StringInput(
        operation=label,
        location=location,
        format=schema.get("format"),
        free_text=not constrained,
        example=example,
    )


# -- the hostile sweep ---------------------------------------------------------------------

CONTROL_CHARACTERS: tuple[str, ...] = tuple(
    chr(code)
    for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))
    if code not in (0x09, 0x0A, 0x0D)  # tab, newline, and CR (a line ending, read as newline)
)
"""Every control character the text rule refuses."""
MARKUP = "<script>alert(1)</script>"
OVERSIZED = "x" * 1_000_000
RESPONSE_LIMIT = 16_384
"""The largest problem document a refusal may be (a 1 MB value is echoed as a prefix)."""
_EXTREMES = {
    "date": ("9999-12-31", "0001-01-01", "10000-01-01"),
    "date-time": (
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+23:59",
        "10000-01-01T00:00:00Z",
    ),
}


def _inserted(example: str, bad: str) -> str:
    """``bad`` in the middle of a valid value, so that it is all that is wrong."""
    middle = len(example) // 2
    return example[:middle] + bad + example[middle:]


def hostile_values(item: StringInput, index: int) -> list[tuple[str, str]]:
    """What the sweep sends in place of one string: NUL and two more control characters
    (the ``index`` rotates them, so a service's inputs together meet every one), markup, a
    1 MB value (10 kB in a query), and for a date or datetime the extremes of the calendar."""
    base = item.example or "Ab"
    rotating = [CONTROL_CHARACTERS[(2 * index + k) % len(CONTROL_CHARACTERS)] for k in (1, 2)]
    values = [("NUL", _inserted(base, "\x00"))]
    values += [(f"U+{ord(c):04X}", _inserted(base, c)) for c in rotating]
    values.append(("markup", _inserted(base, MARKUP)))
    # A URL cannot carry a megabyte (clients and servers refuse one): 10 kB in a query.
    values.append(("1 MB", OVERSIZED) if item.location[0] == "body" else ("10 kB", "x" * 10_000))
    values += [(f"extreme {value}", value) for value in _EXTREMES.get(item.format or "", ())]
    return values


@dataclass
class SweepReport:
    """What the sweep sent and every fault it met."""

    requests: int = 0
    inputs: list[StringInput] = field(default_factory=list)
    control_characters: set[str] = field(default_factory=set)
    faults: list[str] = field(default_factory=list)


def _location_text(location: tuple[str | int, ...]) -> list[str]:
    return [str(part) for part in location]


def _refusal_fault(response: httpx.Response, expected: list[tuple[str | int, ...]]) -> str | None:
    """Why ``response`` is not a small 422 naming every ``expected`` location, or None."""
    if response.status_code != 422:
        return f"answered {response.status_code}: {response.text[:300]}"
    if len(response.content) > RESPONSE_LIMIT:
        return f"a {len(response.content)}-byte problem document"
    if response.headers.get("content-type") != "application/problem+json":
        return f"content type {response.headers.get('content-type')}"
    named = {tuple(error.get("location", ())) for error in response.json().get("errors", [])}
    unnamed = [loc for loc in expected if tuple(_location_text(loc)) not in named]
    if unnamed:
        return f"does not name {unnamed} (names {sorted(named)})"
    return None


async def sweep(
    operations: list[Operation],
    client: httpx.AsyncClient,
    binder: Binder,
    count_events: Callable[[], Awaitable[int]],
) -> SweepReport:
    """Send every hostile value to every string input; record what is not a 422 naming the
    input (small, and nothing stored), and what the several-faults-at-once request misses.

    Each operation's example, bound to live state, must first be accepted (a 2xx): so the
    route can store, and an unchanged event count means the hostile request stored nothing.
    """
    report = SweepReport()
    index = 0
    for operation in operations:
        report.faults += [
            f"{operation.label}: the example leaves out {m}" for m in operation.missing
        ]
        if operation.has_body:
            base = operation.call()
            await binder.bind(base, True)
            answer = await send(client, base)
            report.requests += 1
            if not answer.is_success:
                report.faults.append(
                    f"{operation.label}: its example answered {answer.status_code}: "
                    f"{answer.text[:300]}"
                )
        for item in operation.inputs:
            report.inputs.append(item)
            for name, value in hostile_values(item, index):
                fault = await _refused(
                    operation, {item.location: value}, client, binder, count_events
                )
                report.requests += 1
                report.control_characters.update(set(value) & set(CONTROL_CHARACTERS))
                if fault:
                    report.faults.append(f"{operation.label} {item.location} {name}: {fault}")
            index += 1
        for group in _shapes(operation.inputs):
            values = {item.location: _inserted(item.example or "Ab", "\x00") for item in group}
            fault = await _refused(operation, values, client, binder, count_events)
            report.requests += 1
            if fault:
                report.faults.append(f"{operation.label} all {len(values)} at once: {fault}")
    return report


def _shapes(inputs: list[StringInput]) -> list[list[StringInput]]:
    """The inputs that can be wrong in one request: a body that is an object or an array of
    them is one or the other (the query goes with either)."""
    query = [item for item in inputs if item.location[0] == "query"]
    as_object = [i for i in inputs if i.location[0] == "body" and not _in_array_body(i)]
    as_array = [i for i in inputs if i.location[0] == "body" and _in_array_body(i)]
    groups = [group for group in (query + as_object, as_array) if group]
    return groups


def _in_array_body(item: StringInput) -> bool:
    return len(item.location) > 1 and isinstance(item.location[1], int)


async def _refused(
    operation: Operation,
    values: Mapping[tuple[str | int, ...], str],
    client: httpx.AsyncClient,
    binder: Binder,
    count_events: Callable[[], Awaitable[int]],
) -> str | None:
    call = operation.call()
    await binder.bind(call, True)
    apply(call, values)
    before = await count_events()
    response = await send(client, call)
    stored = await count_events() - before
    fault = _refusal_fault(response, list(values))
    if stored:
        fault = f"{fault or 'refused'}, yet {stored} events were stored"
    return fault

"""XSD validation of edXML packets against the hub's own schemas.

:func:`validate` checks a parsed document packet (``"edoc"``) or status packet (``"status"``)
against ``schemas/edxml-document.xsd`` or ``schemas/edxml-status.xsd`` and returns the
problems as :class:`~edxml.errors.Issue` objects, an empty list when the packet is valid.

Why a schema: it states in one declarative, reviewable place what a packet must hold for the
hub to route it (a sender's OrganId, a DocumentId, an OrganId on every recipient, a
two-digit StatusCode and the document a status answers), while accepting what real senders
vary (child order, extensions, extra attributes, unparsable optional values). The design of
the schemas and the rules they leave to code are described in their annotations.

Why two engines: libxml2 (through lxml) is the one used, being much faster than the pure
Python ``xmlschema`` package (see ``bench/bench_schema.py``); :func:`validate_with_xmlschema`
runs the same schemas through ``xmlschema`` to cross-check the schemas and the verdicts.
Both return the same kind of issues:

- ``schema.missing``: a required element is absent (``element`` names it);
- ``schema.repeated``: an element required exactly once occurs more than once;
- ``schema.duplicate``: two recipients (``To``) carry the same OrganId (the first repeat only);
- ``schema.invalid``: anything else (a bad value, an element out of place, a wrong root).

The cost is linear in the packet: each identity constraint is evaluated on the tree once per
validation however many times an engine reports it, and at most ``max_issues`` issues are
listed, the last one (``issues.more``) counting the rest.

The schemas are compiled on first use, never at import. A compiled lxml validator keeps the
error log of its last run on itself, so each thread gets its own validator.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Final, Literal, cast

from lxml import etree

from edxml.errors import MAX_ISSUES, Issue, cap_issues
from edxml.namespaces import EDXML_NS, clark

Kind = Literal["edoc", "status"]

SCHEMA_FILES: Final[dict[str, str]] = {
    "edoc": "edxml-document.xsd",
    "status": "edxml-status.xsd",
}
"""The schema file of each packet kind, inside the schema folder."""

MISSING: Final = "schema.missing"
REPEATED: Final = "schema.repeated"
DUPLICATE: Final = "schema.duplicate"
INVALID: Final = "schema.invalid"

_PACKAGE_DIR = Path(__file__).resolve().parent
SCHEMA_DIRS: tuple[Path, ...] = (_PACKAGE_DIR / "schemas", _PACKAGE_DIR.parent / "schemas")
"""Where the schema folder is looked for: shipped inside the package, or at the repository root."""

_threads = threading.local()
_compile_lock = threading.Lock()
"""Held while libxml2 compiles a schema (see :func:`_lxml_validator`)."""
_xmlschema_lock = threading.Lock()
_xmlschema_cache: dict[str, Any] = {}


def schema_path(kind: Kind) -> Path:
    """The XSD file for packets of ``kind``; FileNotFoundError says where it was looked for."""
    try:
        name = SCHEMA_FILES[kind]
    except KeyError:
        raise ValueError(f"unknown packet kind {kind!r}: expected 'edoc' or 'status'") from None
    for folder in SCHEMA_DIRS:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(folder) for folder in SCHEMA_DIRS)
    raise FileNotFoundError(
        f"edXML schema {name} not found (searched {searched}); the schemas/ folder must "
        "ship with the edxml package"
    )


def validate(
    tree_or_element: etree._Element | etree._ElementTree,
    kind: Kind,
    *,
    max_issues: int = MAX_ISSUES,
) -> list[Issue]:
    """Check a packet against the schema of its kind with libxml2; no issues means valid."""
    validator = _lxml_validator(kind)
    if validator.validate(tree_or_element):
        return []
    found = _Findings(_root_of(tree_or_element), max_issues)
    for entry in cast("Iterable[Any]", validator.error_log):
        found.libxml2(entry.message, entry.line)
    return found.finish()


def validate_with_xmlschema(
    tree_or_element: etree._Element | etree._ElementTree,
    kind: Kind,
    *,
    max_issues: int = MAX_ISSUES,
) -> list[Issue]:
    """Check a packet as :func:`validate` does, with the ``xmlschema`` package instead."""
    found = _Findings(_root_of(tree_or_element), max_issues)
    for error in _xmlschema_validator(kind).iter_errors(tree_or_element):
        found.xmlschema(error)
    return found.finish() if found.any else []


def _lxml_validator(kind: Kind) -> etree.XMLSchema:
    validators: dict[str, etree.XMLSchema] | None = getattr(_threads, "validators", None)
    if validators is None:
        validators = {}
        _threads.validators = validators
    validator = validators.get(kind)
    if validator is None:
        # libxml2 sets up its built-in types on the first schema it compiles, without a lock:
        # threads compiling their first schema at once can leave them broken for the whole
        # process ("xmlSchemaPValAttrNodeValue, the given type is not a built-in type").
        with _compile_lock:
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            validator = etree.XMLSchema(etree.parse(str(schema_path(kind)), parser))
        validators[kind] = validator
    return validator


def _xmlschema_validator(kind: Kind) -> Any:
    with _xmlschema_lock:
        schema = _xmlschema_cache.get(kind)
        if schema is None:
            import xmlschema

            schema = xmlschema.XMLSchema10(str(schema_path(kind)), allow="local")
            _xmlschema_cache[kind] = schema
        return schema


def _root_of(tree_or_element: etree._Element | etree._ElementTree) -> etree._Element:
    if isinstance(tree_or_element, etree._ElementTree):
        return tree_or_element.getroot()
    return tree_or_element


class _Findings:
    """The issues of one validation: each fault once, each identity constraint evaluated on
    the tree once, at most ``limit`` listed and the rest counted."""

    def __init__(self, root: etree._Element, limit: int) -> None:
        self.root = root
        self.limit = limit
        self.issues: dict[Issue, None] = {}
        self.more = 0
        self.any = False
        self.constraints: set[tuple[str, bool]] = set()
        self.counted: set[tuple[str, object]] = set()

    @property
    def full(self) -> bool:
        """Whether the list is as long as it may be: anything further is only counted."""
        return len(self.issues) >= self.limit

    def add(self, issues: Iterable[Issue]) -> None:
        for issue in issues:
            if issue in self.issues:
                continue
            if self.full:
                self.more += 1
            else:
                self.issues[issue] = None

    def unlisted(self, message: str, line: object) -> bool:
        """Whether an engine error is only to be counted (the list is full): counted once
        per message and line, without the cost of turning it into an issue."""
        if not self.full:
            return False
        if (message, line) not in self.counted:
            self.counted.add((message, line))
            self.more += 1
        return True

    def constraint(self, name: str, unique: bool) -> None:
        self.any = True
        if (name, unique) not in self.constraints:
            self.constraints.add((name, unique))
            self.add(_constraint_issues(self.root, name, unique))

    def libxml2(self, message: str, line: int) -> None:
        self.any = True
        if _LIBXML2_DERIVED in message:
            return
        constraint = (
            _LIBXML2_CONSTRAINT.search(message) if "identity-constraint" in message else None
        )
        if constraint is not None:
            kind, name = constraint.groups()
            self.constraint(name, unique=kind == "unique")
        elif not self.unlisted(message, line):
            self.add([_issue_from_libxml2(message, line)])

    def xmlschema(self, error: Any) -> None:
        self.any = True
        reason = str(error.reason or error.message)
        elem = error.elem
        element = _local(elem.tag) if elem is not None and isinstance(elem.tag, str) else None
        unique = _XMLSCHEMA_UNIQUE.search(reason)
        if unique is not None:
            self.constraint(unique.group(1), unique=True)
            return
        field = _XMLSCHEMA_MISSING_FIELD.search(reason) or _XMLSCHEMA_MULTIPLE.search(reason)
        if field is not None and element is not None:
            steps = [step.rpartition(":")[2] for step in field.group(1).split("/")]
            self.constraint(".".join([element, *steps]), unique=False)
            return
        text = f"{element}: {reason}" if element else reason
        line = error.sourceline if isinstance(error.sourceline, int) else None
        if not self.unlisted(text, line):
            self.add([Issue(INVALID, _short_names(text), element, line)])

    def finish(self) -> list[Issue]:
        issues = list(self.issues)
        if not issues:
            return [Issue(INVALID, "the packet does not match the edXML schema")]
        return cap_issues(issues, self.limit, more=self.more)


# Identity constraints ------------------------------------------------------------------
#
# The schemas require an element by an xs:key whose name is the path to it from the key's
# scope ("MessageHeader.ResponseFor.DocumentId"), and forbid duplicate recipients by an
# xs:unique named the same way ("MessageHeader.To.OrganId"). Both engines report such a
# failure on the scope or a field, and xmlschema without the key's name, so the constraint
# is evaluated again here on the tree to name the element at fault. An engine also reports a
# key as failed when the field is present but its value is invalid; the value error is
# reported on its own, so the re-evaluation then finds nothing to add.


def _constraint_issues(root: etree._Element, name: str, unique: bool) -> list[Issue]:
    scope, *path = name.split(".")
    scopes = list(root.iter(clark(scope)))
    if unique:
        return [issue for node in scopes for issue in _duplicates(node, path)]
    return [issue for node in scopes if (issue := _missing_or_repeated(node, path)) is not None]


def _missing_or_repeated(scope: etree._Element, path: Sequence[str]) -> Issue | None:
    node = scope
    for step in path:
        found = node.findall(clark(step))
        parent = _local(node.tag)
        if not found:
            return Issue(MISSING, f"{parent} has no {step}; one is required", step, _line(node))
        if len(found) > 1:
            return Issue(
                REPEATED,
                f"{parent} has {len(found)} {step} elements; exactly one is allowed",
                step,
                _line(found[1]),
            )
        node = found[0]
    return None


def _duplicates(scope: etree._Element, path: Sequence[str]) -> list[Issue]:
    """The first item of ``scope`` whose field repeats an earlier one's, if any: a repeated
    recipient is refused at its first repeat, however many follow."""
    if len(path) != 2:
        return []
    item_name, field_name = path
    seen: set[str] = set()
    for item in scope.iterfind(clark(item_name)):
        fields = item.findall(clark(field_name))
        if len(fields) != 1:
            continue
        value = " ".join((fields[0].text or "").split())
        if value in seen:
            return [
                Issue(
                    DUPLICATE,
                    f"{item_name} with {field_name} '{value}' appears more than once in "
                    f"{_local(scope.tag)}; each is named once",
                    item_name,
                    _line(item),
                )
            ]
        seen.add(value)
    return []


# libxml2 messages ----------------------------------------------------------------------

_LIBXML2_ELEMENT = re.compile(r"^Element '(?:\{[^}]*\})?([^']*)'(?:, attribute '([^']*)')?: ")
_LIBXML2_CONSTRAINT = re.compile(r"(key|unique) identity-constraint '(?:\{[^}]*\})?([^']+)'")
_LIBXML2_DERIVED = "No precomputed value available"
_LIBXML2_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"No matching global declaration available for the validation root\."),
        "this is not the root of an edXML packet (expected edXML in the edXML namespace)",
    ),
    (
        re.compile(r"This element is not expected\. Expected is \( (.*) \)\."),
        r"this element is not expected here; expected: \1",
    ),
    (re.compile(r"This element is not expected\."), "this element is not expected here"),
    (
        re.compile(r"Missing child element\(s\)\. Expected is \( (.*) \)\."),
        r"a required child element is missing: \1",
    ),
    (
        re.compile(r"\[facet 'pattern'\] The value '(.*)' is not accepted by the pattern '(.*)'\."),
        r"the value '\1' does not match the pattern \2",
    ),
    (
        re.compile(r"Element content is not allowed, because the content type is a simple.*"),
        "only text is allowed here, not child elements",
    ),
    (
        re.compile(r"Character content other than whitespace is not allowed because.*"),
        "only child elements are allowed here, not text",
    ),
)


def _issue_from_libxml2(message: str, line: int) -> Issue:
    element: str | None = None
    text = message
    located = _LIBXML2_ELEMENT.match(message)
    if located is not None:
        element, attribute = located.groups()
        text = message[located.end() :]
        for pattern, replacement in _LIBXML2_PHRASES:
            text, count = pattern.subn(replacement, text)
            if count:
                break
        where = f"{element}, attribute {attribute}" if attribute else element
        text = f"{where}: {text}"
    return Issue(INVALID, _short_names(text), element, line or None)


# xmlschema errors ----------------------------------------------------------------------

_XMLSCHEMA_MISSING_FIELD = re.compile(r"missing key field '([^']+)'")
_XMLSCHEMA_MULTIPLE = re.compile(r"path='([^']+)'\) field selects multiple values")
_XMLSCHEMA_UNIQUE = re.compile(r"XsdUnique\(name='(?:[^:']*:)?([^']+)'\)")


def _line(node: etree._Element) -> int | None:
    line: object = node.sourceline
    return line if isinstance(line, int) else None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _short_names(text: str) -> str:
    return text.replace(f"{{{EDXML_NS}}}", "").replace("edXML:", "")

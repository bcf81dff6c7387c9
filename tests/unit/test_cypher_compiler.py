"""The Cypher compiler's safety properties: no value ever reaches the text (values, parameter
codes and types in properties are ``$parameters``; labels are the registry's type names), and
every node pattern of every statement carries the tenant predicate."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

import helios_persistence as hp
from helios_persistence.compilers.cypher import CypherCompiler, compiler, type_label
from helios_persistence.conformance.cases import load_cases
from helios_persistence.errors import InvalidSearch
from helios_persistence.registry import default_registry

try:
    from tests.property.support import examples
except ImportError:  # plain `pytest`: tests/ itself is on sys.path
    from property.support import examples  # type: ignore[no-redef]

#: a node pattern: ``(var)``, ``(var:Label...)``, ``(var {props})``, not a function call
_NODE = re.compile(r"(?<![\w])\((?!(?:true|false|null)\))(\w+)(:[^{}()]*)?(\s*\{[^{}]*\})?\)")
_TENANT = "tenant: $tenant"


def node_patterns(text: str) -> list[str]:
    """Every node pattern of a Cypher statement (``CALL (r) {`` imports are not patterns)."""
    return [m.group(0) for m in _NODE.finditer(text) if not text[: m.start()].endswith("CALL ")]


def statements(query: str) -> list[str]:
    compiled = hp.compile(query, dialect="cypher")
    return [compiled.text, compiled.count_text]


def test_the_pattern_finder_sees_nodes_and_misses_calls() -> None:
    text = "MATCH (r:Resource:`Patient` {tenant: $tenant}) CALL (r) { RETURN count(r) } (x)"
    assert node_patterns(text + " WHERE (false)") == [
        "(r:Resource:`Patient` {tenant: $tenant})",
        "(x)",
    ]


def test_every_node_pattern_of_the_conformance_queries_has_the_tenant() -> None:
    checked = 0
    for case in load_cases():
        try:
            texts = statements(case.query)
        except InvalidSearch:
            continue  # an error case, or a feature the dialect declares unsupported
        for text in texts:
            patterns = node_patterns(text)
            assert patterns, text
            for pattern in patterns:
                assert _TENANT in pattern, f"{case.id}: {pattern} in\n{text}"
            checked += 1
    assert checked > 300
    for reverse in (False, True):
        for any_param in (False, True):
            for target in (False, True):
                text = CypherCompiler.include_statement(reverse, any_param, target)
                assert all(_TENANT in p for p in node_patterns(text)), text
    assert all(_TENANT in p for p in node_patterns(CypherCompiler.fetch_statement()))
    assert all(_TENANT in p for p in node_patterns(CypherCompiler.include_step_statement()))


_PARAMS = {
    rtype: [p.code for p in default_registry().params_for(rtype) if p.type.value != "composite"]
    for rtype in ("Patient", "Observation", "Encounter")
}
_MODIFIERS = ["", ":exact", ":contains", ":missing", ":not", ":text", ":below", ":above"]
_PREFIXES = ["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]
#: a marker no vocabulary word contains, around arbitrary text
_VALUE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12).map(
    lambda t: f"qzv{t}vzq"
)


@examples(200)
@given(
    st.sampled_from(sorted(_PARAMS)).flatmap(
        lambda rtype: st.tuples(st.just(rtype), st.sampled_from(_PARAMS[rtype]))
    ),
    st.sampled_from(_MODIFIERS),
    st.sampled_from(_PREFIXES),
    _VALUE,
    st.sampled_from(["", "|", "$"]),
)
def test_no_value_text_reaches_the_cypher(
    target: tuple[str, str], modifier: str, prefix: str, value: str, joiner: str
) -> None:
    """Any parameter of the registry, any modifier/prefix, any value: the compiled text
    holds none of the value (nor its marker), only ``$parameters``."""
    from urllib.parse import quote

    rtype, param = target
    raw = f"{prefix}{value}{joiner}{value}" if joiner else f"{prefix}{value}"
    query = f"{rtype}?{param}{modifier}={quote(raw, safe='')}"
    try:
        texts = statements(query)
    except InvalidSearch:
        return
    for text in texts:
        assert "qzv" not in text and "vzq" not in text, f"{query} → {text}"
        assert param not in re.sub(r"\$\w+|`\w+`", "", text).split(), text


def test_a_label_is_only_a_plain_type_name() -> None:
    assert type_label("Patient") == "`Patient`"
    for bad in ("Patient`) DETACH DELETE (x", "patient", "", "A B"):
        with pytest.raises(InvalidSearch):
            type_label(bad)


def test_a_relationship_type_is_only_a_plain_parameter_name() -> None:
    text = hp.compile("Observation?subject:Patient.general-practitioner.name=x", "cypher").text
    assert "[:`subject`]" in text and "[:`general-practitioner`]" in text
    for bad in ("subject`]->(x) DETACH DELETE (x", "a b", "", "x{y}"):
        with pytest.raises(InvalidSearch):
            CypherCompiler().refers(bad)


def test_unsupported_features_say_not_supported() -> None:
    for query in ("Patient?_text=heart", "Observation?code:in=http://example.org/vs"):
        with pytest.raises(InvalidSearch) as caught:
            hp.compile(query, dialect="cypher")
        assert caught.value.issue_code == "not-supported"
    assert compiler.supports(hp.parse("Observation?subject.name=x"))

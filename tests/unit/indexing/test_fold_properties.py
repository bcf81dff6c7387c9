""":func:`helios_persistence.fhir_values.fold` on letters that do not decompose."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from helios_persistence.conformance.evaluator import Evaluator
from helios_persistence.fhir_values import UNDECOMPOSED, fold
from helios_persistence.parsing import parse

_LATIN = st.characters(
    min_codepoint=0x20, max_codepoint=0x2AF, categories=("Lu", "Ll", "Lt", "Lo", "Zs", "Nd")
)


def test_named_letters_fold_to_their_base_letters() -> None:
    assert fold("Łukasiewicz") == "lukasiewicz"
    assert fold("Øster Æsir Straße ẞ Đorđević Þór Œuvre Ħal Iı") == (
        "oster aesir strasse ss dordevic thor oeuvre hal ii"
    )
    # every letter the table maps is a Latin letter without a decomposition
    for cp in UNDECOMPOSED:
        assert "LATIN" in unicodedata.name(chr(cp)) and not unicodedata.decomposition(chr(cp))


@given(st.text(alphabet=_LATIN, max_size=30))
def test_fold_ignores_case_and_is_idempotent(text: str) -> None:
    assert fold(text) == fold(text.swapcase()) == fold(text.upper())
    assert fold(fold(text)) == fold(text)


@given(
    st.text(alphabet=st.sampled_from([chr(c) for c in UNDECOMPOSED] + list("aeiou")), min_size=1)
)
def test_undecomposed_letters_fold_to_ascii(text: str) -> None:
    assert fold(text).isascii()


def test_reference_evaluator_folds_alike() -> None:
    resources = [{"resourceType": "Patient", "id": "l", "name": [{"family": "Łukasiewicz"}]}]
    result = Evaluator(resources).search(parse("Patient?name=lukasiewicz"))
    assert result.ids == ["Patient/l"]
    later = Evaluator(resources).search(parse("Patient?_lastUpdated=ge2020&_sort=-_lastUpdated"))
    assert later.ids == ["Patient/l"]  # stamped when added

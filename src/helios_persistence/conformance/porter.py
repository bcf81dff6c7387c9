"""The Porter stemmer exactly as SQLite's FTS5 ``porter`` tokenizer applies it.

The reference evaluator's full-text search must find what the engine finds, and the SQLite
schema indexes text with ``tokenize = 'porter unicode61 remove_diacritics 2'``. Stemming is a
tokenisation choice, not a search semantic, so the evaluator reproduces it rather than
inventing its own: Martin Porter's 1980 algorithm, with the rule table FTS5 uses (which adds
Porter's later ``logi → log`` and ``bli → ble``), its definition of a vowel (``y`` is a vowel
after a consonant) and its pass-through of tokens shorter than 3 or longer than 64 bytes.

Rules within a step are grouped by the suffix's next-to-last letter and the first suffix that
matches decides, whether or not its condition holds (Porter's "longest match" reading).
The stemmer works on the token's UTF-8 bytes, as FTS5 does; ``tests/property/test_porter.py``
checks it against FTS5 itself over a large word list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

__all__ = ["stem"]

_MAX_TOKEN = 64
_VOWELS = frozenset(b"aeiou")
_Y = ord("y")


def _is_vowel(c: int, y_is_vowel: bool) -> bool:
    return c in _VOWELS or (y_is_vowel and c == _Y)


def _gobble_vc(word: bytes, prev_consonant: bool) -> int:
    """Length of the shortest prefix of the form ``[C]V+C`` (0 if there is none)."""
    consonant = prev_consonant
    i = 0
    while i < len(word):
        consonant = not _is_vowel(word[i], consonant)
        if not consonant:
            break
        i += 1
    i += 1
    while i < len(word):
        consonant = not _is_vowel(word[i], consonant)
        if consonant:
            return i + 1
        i += 1
    return 0


def _m_gt0(stem: bytes) -> bool:
    return _gobble_vc(stem, False) > 0


def _m_gt1(stem: bytes) -> bool:
    n = _gobble_vc(stem, False)
    return bool(n) and _gobble_vc(stem[n:], True) > 0


def _m_eq1(stem: bytes) -> bool:
    n = _gobble_vc(stem, False)
    return bool(n) and _gobble_vc(stem[n:], True) == 0


def _o_star(stem: bytes) -> bool:
    """``*o``: the stem ends consonant-vowel-consonant, the last not w, x or y."""
    if not stem or stem[-1] in b"wxy":
        return False
    mask = 0
    consonant = False
    for c in stem:
        consonant = not _is_vowel(c, consonant)
        mask = (mask << 1) + int(consonant)
    return (mask & 0b111) == 0b101


def _has_vowel(stem: bytes) -> bool:
    return any(_is_vowel(c, i > 0) for i, c in enumerate(stem))


def _s_or_t_m_gt1(stem: bytes) -> bool:
    return bool(stem) and stem[-1] in b"st" and _m_gt1(stem)


#: (suffix, condition on the stem, replacement), in FTS5's order
Rule = tuple[bytes, Callable[[bytes], bool], bytes]
_STEP2: list[Rule] = [
    (b"ational", _m_gt0, b"ate"), (b"tional", _m_gt0, b"tion"), (b"enci", _m_gt0, b"ence"),
    (b"anci", _m_gt0, b"ance"), (b"izer", _m_gt0, b"ize"), (b"logi", _m_gt0, b"log"),
    (b"bli", _m_gt0, b"ble"), (b"alli", _m_gt0, b"al"), (b"entli", _m_gt0, b"ent"),
    (b"eli", _m_gt0, b"e"), (b"ousli", _m_gt0, b"ous"), (b"ization", _m_gt0, b"ize"),
    (b"ation", _m_gt0, b"ate"), (b"ator", _m_gt0, b"ate"), (b"alism", _m_gt0, b"al"),
    (b"iveness", _m_gt0, b"ive"), (b"fulness", _m_gt0, b"ful"), (b"ousness", _m_gt0, b"ous"),
    (b"aliti", _m_gt0, b"al"), (b"iviti", _m_gt0, b"ive"), (b"biliti", _m_gt0, b"ble"),
]  # fmt: skip
_STEP3: list[Rule] = [
    (b"icate", _m_gt0, b"ic"), (b"ative", _m_gt0, b""), (b"alize", _m_gt0, b"al"),
    (b"iciti", _m_gt0, b"ic"), (b"ical", _m_gt0, b"ic"), (b"ful", _m_gt0, b""),
    (b"ness", _m_gt0, b""),
]  # fmt: skip
_STEP4: list[Rule] = [
    (b"al", _m_gt1, b""), (b"ance", _m_gt1, b""), (b"ence", _m_gt1, b""), (b"er", _m_gt1, b""),
    (b"ic", _m_gt1, b""), (b"able", _m_gt1, b""), (b"ible", _m_gt1, b""), (b"ant", _m_gt1, b""),
    (b"ement", _m_gt1, b""), (b"ment", _m_gt1, b""), (b"ent", _m_gt1, b""),
    (b"ion", _s_or_t_m_gt1, b""), (b"ou", _m_gt1, b""), (b"ism", _m_gt1, b""),
    (b"ate", _m_gt1, b""), (b"iti", _m_gt1, b""), (b"ous", _m_gt1, b""), (b"ive", _m_gt1, b""),
    (b"ize", _m_gt1, b""),
]  # fmt: skip


def _apply(word: bytes, rules: Sequence[Rule]) -> bytes:
    """The first rule (of the group sharing the word's next-to-last letter) whose suffix
    matches decides; its replacement applies only if its condition holds."""
    for suffix, condition, replacement in rules:
        if suffix[-2] != word[-2]:
            continue
        if len(word) > len(suffix) and word.endswith(suffix):
            stem = word[: -len(suffix)]
            return stem + replacement if condition(stem) else word
    return word


def _step1a(w: bytes) -> bytes:
    if w.endswith(b"s"):
        if w[-2:-1] == b"e":
            if (len(w) > 4 and w[-4:-2] == b"ss") or (len(w) > 3 and w[-3:-2] == b"i"):
                return w[:-2]
            return w[:-1]
        if w[-2:-1] != b"s":
            return w[:-1]
    return w


def _step1b(w: bytes) -> bytes:
    removed = None
    if len(w) > 3 and w.endswith(b"eed"):
        return w[:-1] if _m_gt0(w[:-3]) else w
    if len(w) > 2 and w.endswith(b"ed"):
        if _has_vowel(w[:-2]):
            removed = w[:-2]
    elif len(w) > 3 and w.endswith(b"ing") and _has_vowel(w[:-3]):
        removed = w[:-3]
    if removed is None:
        return w
    w = removed
    for suffix, replacement in ((b"at", b"ate"), (b"bl", b"ble"), (b"iz", b"ize")):
        if len(w) > 2 and w.endswith(suffix):
            return w[:-2] + replacement
    last = w[-1]
    if not _is_vowel(last, False) and last not in b"lsz" and len(w) > 1 and last == w[-2]:
        return w[:-1]
    if _m_eq1(w) and _o_star(w):
        return w + b"e"
    return w


@lru_cache(maxsize=1 << 16)
def stem(token: str) -> str:
    """The FTS5 porter stem of one (already folded, lower-case) token."""
    w = token.encode("utf-8", "surrogateescape")
    if len(w) < 3 or len(w) > _MAX_TOKEN:
        return token
    w = _step1a(w)
    w = _step1b(w)
    if w.endswith(b"y") and _has_vowel(w[:-1]):
        w = w[:-1] + b"i"
    if len(w) > 1:
        w = _apply(w, _STEP2)
    if len(w) > 1:
        w = _apply(w, _STEP3)
    if len(w) > 1:
        w = _apply(w, _STEP4)
    if w.endswith(b"e"):
        base = w[:-1]
        if _m_gt1(base) or (_m_eq1(base) and not _o_star(base)):
            w = base
    if len(w) > 1 and w.endswith(b"ll") and _m_gt1(w[:-1]):
        w = w[:-1]
    return w.decode("utf-8", "surrogateescape")

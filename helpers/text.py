"""Text similarity for de-duplication and leakage checks: normalised text, word shingles, Jaccard.

Exact duplicates share `normalize_text`; near duplicates have a `jaccard` of word-trigram
shingles at or above `NEAR_DUPLICATE_THRESHOLD`.
"""

from __future__ import annotations

import re
import unicodedata

NEAR_DUPLICATE_THRESHOLD = 0.8


def normalize_text(text: str) -> str:
    """Lower-case, strip accents and punctuation, collapse white space: the key for exact duplicates."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.split())


def shingles(text: str, size: int = 3) -> frozenset[str]:
    """The set of word n-grams of the normalised text (the whole text if it is shorter than n)."""
    words = normalize_text(text).split()
    if len(words) <= size:
        return frozenset([" ".join(words)])
    return frozenset(" ".join(words[i:i + size]) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of shingles two texts have in common (1.0 for identical texts, 0.0 for none)."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)

"""Scrub personal data from free text: e-mail addresses, phone numbers and payment card numbers.

    >>> scrub_pii("Mail me at ana@example.com or call +44 20 7946 0958.")
    ('Mail me at [EMAIL] or call [PHONE].', {'email': 1, 'phone': 1, 'card_number': 0})

Card numbers are replaced only when their digits pass the Luhn check, so a 16-digit reference
number that is not a card stays. Order ids ("LL-482913", "#482913", six digits), dates, prices
and quantities have too few digits to be taken for a phone number.
"""

from __future__ import annotations

import re

PII_KINDS = ("email", "phone", "card_number")
PLACEHOLDERS = {"email": "[EMAIL]", "phone": "[PHONE]", "card_number": "[CARD]"}

# local-part@domain.tld; the local part allows the usual dots, plus signs and hyphens.
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

# A run of digit groups joined by single spaces or hyphens ("4111 1111 1111 1111",
# "4111-1111-1111-1111", "4111111111111111"), not glued to other digits or letters.
# Each run is a *candidate*: it becomes [CARD] only if 13-19 of its digits pass the Luhn check.
DIGIT_RUN_RE = re.compile(r"(?<![\w\-])\d+(?:[ \-]\d+)*(?![\w\-])")

# A phone number: an optional "+country" code, an optional "(area)" code, then two to five
# digit groups separated by a space, dot or hyphen; or one unbroken run of 10-13 digits.
# The look-arounds stop it from starting or ending inside a longer number (a 16-digit
# reference, a date followed by a time "2024-03-15 10:30").
PHONE_RE = re.compile(
    r"""
    (?<![\w+])(?<!\d[\s.\-])          # not inside a word or right after another digit group
    (?:
        (?:\+\d{1,3}[\s.\-]?)?          # country code: +44, +1
        (?:\(\d{1,5}\)[\s.\-]?)?        # area code in brackets: (555), (0)20
        \d{2,5}(?:[\s.\-]\d{2,8}){1,4}  # groups: 020 7946 0958, 555-123-4567, 07700 900123
      |
        \+?\d{10,13}                    # unbroken: 07700900123, +447700900123
    )
    (?![\w:])(?![\s.\-]\d)            # not followed by more digits or a time
    """,
    re.VERBOSE,
)
PHONE_MIN_DIGITS = 9   # fewer digits is a date, a price, an order id or a quantity
PHONE_MAX_DIGITS = 15  # the longest number the ITU E.164 plan allows
CARD_MIN_DIGITS, CARD_MAX_DIGITS = 13, 19


def luhn_valid(digits: str) -> bool:
    """True if a string of digits passes the Luhn checksum used by payment card numbers.

    From the right, every second digit is doubled (minus 9 if over 9); the sum of all digits
    must be a multiple of 10. Spaces and hyphens are ignored; anything else makes it invalid.
    """
    digits = digits.replace(" ", "").replace("-", "")
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card_span(run: str) -> tuple[int, int] | None:
    """Character span (start, end) inside a digit run of the longest stretch of whole digit
    groups that holds 13-19 digits and passes the Luhn check; None if there is none."""
    groups = [match.span() for match in re.finditer(r"\d+", run)]
    best: tuple[int, int] | None = None
    for first in range(len(groups)):
        for last in range(first, len(groups)):
            start, end = groups[first][0], groups[last][1]
            digits = re.sub(r"\D", "", run[start:end])
            if len(digits) > CARD_MAX_DIGITS:
                break
            if len(digits) >= CARD_MIN_DIGITS and luhn_valid(digits):
                if best is None or end - start > best[1] - best[0]:
                    best = (start, end)
    return best


def scrub_cards(text: str) -> tuple[str, int]:
    """Replace Luhn-valid card numbers with [CARD]; return the new text and how many."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        run = match.group(0)
        span = _card_span(run) if sum(c.isdigit() for c in run) >= CARD_MIN_DIGITS else None
        if span is None:
            return run
        count += 1
        return run[:span[0]] + PLACEHOLDERS["card_number"] + run[span[1]:]

    return DIGIT_RUN_RE.sub(replace, text), count


def scrub_phones(text: str) -> tuple[str, int]:
    """Replace phone numbers (9-15 digits, see `PHONE_RE`) with [PHONE]; return text and count."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        n_digits = sum(c.isdigit() for c in match.group(0))
        if not PHONE_MIN_DIGITS <= n_digits <= PHONE_MAX_DIGITS:
            return match.group(0)
        count += 1
        return PLACEHOLDERS["phone"]

    return PHONE_RE.sub(replace, text), count


def scrub_pii(text: str) -> tuple[str, dict[str, int]]:
    """Replace e-mails with [EMAIL], Luhn-valid card numbers with [CARD] and phone numbers with
    [PHONE]; return the scrubbed text and how many of each kind were found.

    E-mails go first (their digits are not phone digits), then cards (a card's groups must not be
    read as a phone number), then phones.
    """
    text, emails = EMAIL_RE.subn(PLACEHOLDERS["email"], text)
    text, cards = scrub_cards(text)
    text, phones = scrub_phones(text)
    return text, {"email": emails, "phone": phones, "card_number": cards}

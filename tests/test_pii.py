"""Personal-data scrubbing: what must be replaced, and what must be left alone."""

import pytest

from helpers.pii import luhn_valid, scrub_pii


@pytest.mark.parametrize("number, valid", [
    ("4111111111111111", True),        # Visa test number
    ("4012888888881881", True),        # Visa
    ("5555555555554444", True),        # Mastercard
    ("378282246310005", True),         # Amex, 15 digits
    ("6011111111111117", True),        # Discover
    ("4111 1111 1111 1111", True),     # separators are ignored
    ("4111111111111112", False),
    ("1234567812345678", False),
    ("79927398710", False),
    ("79927398713", True),             # the classic Luhn example
    ("4111x1111", False),
    ("", False),
])
def test_luhn_valid(number, valid):
    assert luhn_valid(number) is valid


@pytest.mark.parametrize("text", [
    "write to ana.lopez@example.com please",
    "my address is J.Smith+orders@mail.example.co.uk.",
    "email: bob_99@domain.io",
])
def test_emails_are_scrubbed(text):
    scrubbed, found = scrub_pii(text)
    assert "[EMAIL]" in scrubbed and "@" not in scrubbed
    assert found == {"email": 1, "phone": 0, "card_number": 0}


@pytest.mark.parametrize("phone", [
    "+44 20 7946 0958", "020 7946 0958", "+44 (0)20 7946 0958", "07700 900123", "07700900123",
    "+447700900123", "(555) 123-4567", "555-123-4567", "555.123.4567", "+1 555 123 4567",
    "+1-555-123-4567", "+49 30 1234567", "0161-496-0000",
])
def test_each_phone_format_is_scrubbed(phone):
    scrubbed, found = scrub_pii(f"Please call me on {phone} after 5pm.")
    assert scrubbed == "Please call me on [PHONE] after 5pm."
    assert found["phone"] == 1


@pytest.mark.parametrize("card", [
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111",
    "3782 822463 10005", "5555 5555 5555 4444", "6011-1111-1111-1117",
])
def test_luhn_valid_cards_are_scrubbed(card):
    scrubbed, found = scrub_pii(f"I paid with card {card}, twice.")
    assert scrubbed == "I paid with card [CARD], twice."
    assert found == {"email": 0, "phone": 0, "card_number": 1}


def test_card_next_to_an_order_id_is_found():
    scrubbed, found = scrub_pii("order 482913 4111 1111 1111 1111")
    assert scrubbed == "order 482913 [CARD]" and found["card_number"] == 1


@pytest.mark.parametrize("text", [
    "My reference is 4821 9931 0042 7765.",      # 16 digits, fails Luhn
    "Reference 4821-9931-0042-7765 from the bank",
    "reference number 4821993100427765",
    "Order LL-482913 arrived broken",
    "order #482913 and ll 482913 and 482913",
    "It was delivered on 2024-03-15 10:30, or 15/03/2024, or 15.03.2024",
    "I paid £1,299.99 for 2 kettles at 649.99 each",
    "qty 3, total $59.97, order 482913 placed 2024-03-15",
    "call me at 10:30 on 3 May",
])
def test_non_personal_numbers_are_left_alone(text):
    scrubbed, found = scrub_pii(text)
    assert scrubbed == text
    assert found == {"email": 0, "phone": 0, "card_number": 0}


def test_all_kinds_in_one_text_are_counted():
    text = "I'm ana@example.com, +44 20 7946 0958, card 4111 1111 1111 1111, order LL-482913."
    scrubbed, found = scrub_pii(text)
    assert scrubbed == "I'm [EMAIL], [PHONE], card [CARD], order LL-482913."
    assert found == {"email": 1, "phone": 1, "card_number": 1}

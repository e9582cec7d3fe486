"""The raw export: the same kind of tickets as a messy CSV, with planted defects (duplicates, blank
messages, missing labels, personal data, HTML, leaks of test tickets) and a record of each."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from helpers.tasks import COMPANY, LABEL_ALIASES, normalize_label
from helpers.text import jaccard, normalize_text, shingles
from synth.tickets import (NEAR_COPY_SIMILARITY, ShingleIndex, _lower_first, generate_tickets)

EXPORT_COLUMNS = ("ticket_id", "created_at", "customer_name", "customer_email", "message", "intent",
                  "product", "order_id", "urgency", "sentiment")
DEFECTS = ("exact_duplicate", "near_duplicate", "blank_message", "missing_label", "too_long",
           "test_leak", "label_spelling", "html", "email", "phone", "card_number")
# How many rows of the raw export carry each defect (one defect per row).
DEFECT_COUNTS: dict[str, int] = {
    "exact_duplicate": 60, "near_duplicate": 45, "blank_message": 25, "missing_label": 40,
    "too_long": 20, "test_leak": 35, "label_spelling": 200, "html": 90, "email": 100,
    "phone": 80, "card_number": 40,
}
RAW_CLEAN_ROWS = 1500  # clean rows, before the defects are planted
LUHN_REFERENCES = 30  # reference numbers that pass the card checksum: a scrubber must keep them


EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example", "post.example")
EMAIL_SENTENCES = ("You can reach me at {x}.", "My email is {x}.",
                   "Please reply to {x}, not the address on my account.",
                   "I've changed my email to {x}.", "Send any labels to {x} please.")
PHONE_SENTENCES = ("Call me on {x} if that's easier.", "My number is {x}.",
                   "You can ring me on {x} after work.", "Text me on {x} when it's sorted.",
                   "Phone: {x}.")
CARD_SENTENCES = ("My card number is {x} if you need it.", "It was charged to my card {x}.",
                  "Please refund it to card {x}.", "I paid with {x}.", "Card used: {x}.")
REFERENCE_SENTENCES = ("The tracking number is {x}.", "My reference number is {x}.",
                       "Courier reference: {x}.", "The parcel label says {x}.",
                       "The reference on my bank statement is {x}.")
WELL_KNOWN_TEST_CARDS = ("4111111111111111", "5555555555554444", "4012888888881881")
BLANKS = ("", " ", "   ", "\t", " \t ", "\n", "  \n  ")
NEAR_COPY_GREETINGS = ("Hi,", "Hello,", "Hi there,", "hello")
NEAR_COPY_THANKS = ("Thanks!", "thanks", "Thank you.", "Thanks in advance.", "Cheers", "thx")
NEAR_COPY_DROPPABLE = ("really", "just", "please", "so", "still", "very", "all")
EXPORT_START = datetime(2024, 3, 4, 8, 0, 0)
EXPORT_SPAN_SECONDS = 120 * 24 * 3600


def luhn_valid(number: str) -> bool:
    """Whether a string of digits (separators ignored) passes the Luhn check of card numbers."""
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return bool(digits) and total % 10 == 0


def _luhn_check_digit(body: str) -> str:
    return next(str(d) for d in range(10) if luhn_valid(body + str(d)))


def _group_digits(rng: random.Random, number: str) -> str:
    """A 16-digit number as people type it: in fours with spaces or hyphens, or run together."""
    sep = rng.choice((" ", "-", ""))
    return sep.join(number[i:i + 4] for i in range(0, 16, 4))


def card_number(rng: random.Random) -> str:
    """A 16-digit number that passes the Luhn check (Visa-, Mastercard- or Discover-like)."""
    if rng.random() < 0.1:
        return rng.choice(WELL_KNOWN_TEST_CARDS)
    prefix = rng.choice(("4", "4", "51", "52", "53", "54", "55", "6011"))
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(15 - len(prefix)))
    return body + _luhn_check_digit(body)


def reference_number(rng: random.Random) -> str:
    """A 16-digit tracking or reference number that fails the Luhn check (so it is no card)."""
    body = str(rng.randrange(1, 10)) + "".join(str(rng.randrange(10)) for _ in range(14))
    check = int(_luhn_check_digit(body))
    return body + str((check + rng.randrange(1, 10)) % 10)


def phone_number(rng: random.Random) -> str:
    """A phone number from the ranges reserved for fiction, in one of several formats."""
    a, b, c = rng.randrange(1000), rng.randrange(10), rng.randrange(10000)
    return rng.choice((
        f"+44 20 7946 0{a:03d}", f"020 7946 0{a:03d}", f"(555) 01{b}-{c:04d}", f"555-01{b}-{c:04d}",
        f"07700 900{a:03d}", f"+44 7700 900{a:03d}", f"+1 555 01{b} {c:04d}",
    ))


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if ch.isascii() and (ch.isalnum() or ch in " .")).lower()


def email_address(rng: random.Random, name: str | None) -> str:
    """An e-mail address at a reserved example domain, made from the name when there is one."""
    domain = rng.choice(EMAIL_DOMAINS)
    if not name:
        return f"{rng.choice(('user', 'shopper', 'home', 'hello'))}{rng.randrange(10, 9999)}@{domain}"
    first, last = _ascii(name).split()[:2]
    local = rng.choice((f"{first}.{last}", f"{first}{last}", f"{first[0]}.{last}", f"{first}_{last}"))
    if rng.random() < 0.3:
        local += str(rng.randrange(1, 99))
    return f"{local}@{domain}"


def _sentences(message: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", message.strip()) if s]


def insert_sentence(rng: random.Random, message: str, sentence: str) -> str:
    """Put a sentence between two of the message's sentences (or at its end)."""
    parts = _sentences(message)
    at = rng.randrange(1, len(parts)) if len(parts) > 1 else 1
    return " ".join(parts[:at] + [sentence] + parts[at:])


def with_html(rng: random.Random, message: str) -> str:
    """The message as a web form or mail client left it: tags and entities around and inside."""
    apostrophe = "&#39;" if rng.random() < 0.6 else "'"

    def escape(text: str) -> str:
        return text.replace("&", "&amp;").replace("'", apostrophe)

    parts = [escape(p) for p in _sentences(message)]
    style = rng.randrange(4)
    if style == 0 and len(parts) > 1:
        text = "<p>" + "</p><p>".join(parts) + "</p>"
    elif style == 1 and len(parts) > 1:
        text = rng.choice(("<br>", "<br/>", "<br />")).join(parts)
    elif style == 2:
        text = "<div>" + " ".join(parts) + "</div>"
    else:
        text = " ".join(parts)
    if "&" not in text or rng.random() < 0.4:
        words = text.split(" ")
        i = rng.randrange(1, len(words)) if len(words) > 1 else 1
        text = " ".join(words[:i]) + "&nbsp;" + " ".join(words[i:])
    if "<" not in text and rng.random() < 0.5:
        text = f"<p>{text}</p>"
    return text


def _log_paste(rng: random.Random, ticket: Mapping[str, Any]) -> list[str]:
    device = ticket["product"] if ticket["product"] != "none" else "app"
    events = ("wifi: handshake failed (code E{k})", "ble: pairing timeout after {k}s",
              "app: retrying connection (attempt {k} of 5)", "fw: version 2.4.{k} check ok",
              "sensor: temperature {k} C", "power: relay toggled", "net: dns lookup slow ({k} ms)",
              "ui: screen 'settings' opened", "sync: queue length {k}", "auth: token refreshed")
    lines = ["--- pasted from the app's debug screen ---"]
    clock = rng.randrange(20000, 70000)
    for _ in range(400):
        clock += rng.randrange(1, 40)
        stamp = f"{clock // 3600 % 24:02d}:{clock // 60 % 60:02d}:{clock % 60:02d}"
        lines.append(f"{stamp} [{device}] " + rng.choice(events).format(k=rng.randrange(1, 99)))
    return lines


def _thread_paste(rng: random.Random, ticket: Mapping[str, Any]) -> list[str]:
    days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
    bodies = (
        f"Thank you for contacting {COMPANY}. We have received your message and a member of the "
        "team will look at it shortly. Please do not reply to this automatic message.",
        "Thanks for getting back to us. Could you tell us a little more about the problem, and "
        "whether the item was used before it happened?",
        "I have passed this on to the warehouse team and will update you when I hear back.",
        f"This message and anything attached to it are meant only for the person named above. "
        f"{COMPANY} is a trading name used for this course; registered office: 1 Example Street.",
    )
    lines = []
    depth = 1
    for _ in range(30):
        who = rng.choice((f"{COMPANY} Support", "you"))
        lines.append(">" * depth + f" On {rng.choice(days)}, {who} wrote:")
        lines.append(">" * depth + " " + rng.choice(bodies + (ticket["message"],)))
        depth = min(depth + 1, 4)
    return lines


def _confirmation_paste(rng: random.Random, ticket: Mapping[str, Any]) -> list[str]:
    item = ticket["product"].replace("_", " ") if ticket["product"] != "none" else "gift card"
    price = f"{rng.randrange(15, 120)}.{rng.choice(('00', '49', '99'))}"
    terms = (
        "Returns are accepted within 30 days of delivery if the item is unused and in its box.",
        "Refunds are made to the original payment method once the return has been checked.",
        "Delivery times are estimates and may vary at busy times of the year.",
        "Items marked as final sale cannot be returned unless they arrive faulty.",
        "Please keep this e-mail as your receipt.",
    )
    lines = ["ORDER CONFIRMATION", f"Order number: {ticket['order_id']}", f"Item: {item}",
             "Quantity: 1", f"Price: GBP {price}", "Delivery: standard (3-5 working days)",
             "Delivery address: 12 Elm Road, Leeds", "Terms and conditions:"]
    for _ in range(80):
        lines.append(rng.choice(terms))
    return lines


def too_long_message(rng: random.Random, ticket: Mapping[str, Any]) -> str:
    """The ticket's message followed by a paste (a log, a quoted thread or an order confirmation)
    that brings it to 3000-6000 characters; no personal data or HTML in the paste."""
    builders = [_log_paste, _thread_paste] + ([_confirmation_paste] if ticket["order_id"] else [])
    lines = rng.choice(builders)(rng, ticket)
    # Lines are under 500 characters, so stopping at the first line past the target keeps the
    # text within 3000-6000 characters.
    target = rng.randrange(3500, 5500)
    text = ticket["message"] + "\n"
    for line in lines:
        text += "\n" + line
        if len(text) >= target:
            break
    if not 3000 <= len(text) <= 6000:
        raise AssertionError(f"too-long message of {len(text)} characters")  # a bug, not bad input
    return text


def label_variants(field_name: str, canonical: str) -> list[str]:
    """Spellings an export uses for a canonical label (case, spaces, hyphens, known aliases),
    kept only when `tasks.normalize_label` maps them back to `canonical`."""
    spaced = canonical.replace("_", " ")
    candidates = [spaced.title(), canonical.replace("_", "-"), canonical.upper(), spaced.upper(), spaced]
    for alias, target in LABEL_ALIASES[field_name].items():
        if target == canonical:
            candidates += [alias, alias.replace("_", " ").title(), alias.upper(), alias.capitalize()]
    return sorted({v for v in candidates if v != canonical and normalize_label(field_name, v) == canonical})


def near_copy(rng: random.Random, message: str) -> str | None:
    """A near copy of a message as a customer re-sends it: one word-level edit (a greeting or a
    thanks added, a word dropped, a typo in the first or last word) and maybe a change of case or
    punctuation. Its normalised text differs from the original's, its shingle Jaccard is at least
    `NEAR_COPY_SIMILARITY`; None if no such edit is found."""
    original = shingles(message)
    for _ in range(40):
        text = message
        edit = rng.choice(("greeting", "thanks", "drop", "typo"))
        words = text.split(" ")
        if edit == "greeting":
            if re.match(r"(hi|hello|hey|dear|good|morning|to whom)\b", text, re.IGNORECASE):
                continue  # it already opens with a greeting
            text = rng.choice(NEAR_COPY_GREETINGS) + " " + _lower_first(text)
        elif edit == "thanks":
            text = text + " " + rng.choice(NEAR_COPY_THANKS)
        elif edit == "drop":
            spots = [i for i, w in enumerate(words) if w.lower() in NEAR_COPY_DROPPABLE]
            if not spots:
                continue
            del words[rng.choice(spots)]
            text = " ".join(words)
        else:
            spots = [i for i in (0, len(words) - 1) if words[i].isalpha() and len(words[i]) >= 4]
            if not spots:
                continue
            i = rng.choice(spots)
            w = words[i]
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            text = " ".join(words)
        cosmetic = rng.choice(("none", "lower", "upper", "punct", "commas"))
        if cosmetic == "lower":
            text = text.lower()
        elif cosmetic == "upper" and rng.random() < 0.5:
            text = text.upper()
        elif cosmetic == "punct":
            text = re.sub(r"[.!?]?$", rng.choice(("!!", "...", "?", "")), text, count=1)
        elif cosmetic == "commas":
            text = text.replace(",", "")
        if normalize_text(text) != normalize_text(message) and \
                jaccard(shingles(text), original) >= NEAR_COPY_SIMILARITY:
            return text
    return None


def _order_cell(rng: random.Random, order_id: str | None) -> str:
    # The export's order column mixes formats; that is how the desk's tools wrote it.
    if not order_id:
        return ""
    digits = order_id[3:]
    return rng.choice((f"#{digits}", digits, order_id, order_id, f"ll {digits}"))


def _export_row(rng: random.Random, ticket: Mapping[str, Any], created: datetime) -> dict[str, Any]:
    name = ticket["customer_name"]
    has_email = rng.random() < (0.92 if name else 0.7)
    return {
        "ticket_id": "", "created_at": created, "customer_name": name or "",
        "customer_email": email_address(rng, name) if has_email else "",
        "message": ticket["message"], "intent": ticket["intent"], "product": ticket["product"],
        "order_id": _order_cell(rng, ticket["order_id"]), "urgency": ticket["urgency"],
        "sentiment": ticket["sentiment"],
    }


def _random_time(rng: random.Random) -> datetime:
    return EXPORT_START + timedelta(seconds=rng.randrange(EXPORT_SPAN_SECONDS))


def _later(rng: random.Random, start: datetime, low_s: int, high_s: int) -> datetime:
    return start + timedelta(seconds=rng.randrange(low_s, high_s))


class _Export:
    """The export's rows while defects are planted: each row's defect and, for copies, its source
    (a row number, or a triage-test ticket id)."""

    def __init__(self, rng: random.Random, base: Sequence[Mapping[str, Any]]) -> None:
        self.rng = rng
        self.base = base
        self.rows = [_export_row(rng, t, _random_time(rng)) for t in base]
        self.defect_of: list[str | None] = [None] * len(self.rows)
        self.copy_of: dict[int, int | str] = {}
        self.reference_rows: list[int] = []

    def plant(self, row: dict[str, Any], defect: str, source: int | str | None = None) -> None:
        self.rows.append(row)
        self.defect_of.append(defect)
        if source is not None:
            self.copy_of[len(self.rows) - 1] = source

    def add_reference_numbers(self, count: int) -> None:
        """Clean rows that mention a 16-digit reference number failing the Luhn check: no cards."""
        self.reference_rows = self.rng.sample(range(len(self.rows)), count)
        for i in self.reference_rows:
            number = _group_digits(self.rng, reference_number(self.rng))
            sentence = self.rng.choice(REFERENCE_SENTENCES).format(x=number)
            self.rows[i]["message"] = insert_sentence(self.rng, self.rows[i]["message"], sentence)

    def plant_duplicates(self, exact: int, near: int) -> None:
        """Copies of distinct clean rows (never the reference rows), sent again later: exact
        copies a few minutes on, near copies (`near_copy`) an hour to three days on."""
        rng, rows = self.rng, self.rows
        skip = set(self.reference_rows)  # a reference number stays in exactly its own rows
        originals = [i for i in range(len(self.base)) if i not in skip]
        rng.shuffle(originals)
        for i in originals[:exact]:
            self.plant(rows[i] | {"created_at": _later(rng, rows[i]["created_at"], 60, 2700)},
                       "exact_duplicate", i)
        pool = iter(originals[exact:])
        while near:
            i = next(pool)
            text = near_copy(rng, rows[i]["message"])
            if text is not None:
                self.plant(rows[i] | {"message": text, "order_id": _order_cell(rng, self.base[i]["order_id"]),
                                      "created_at": _later(rng, rows[i]["created_at"], 3600, 259200)},
                           "near_duplicate", i)
                near -= 1

    def plant_leaks(self, test_tickets: Sequence[Mapping[str, Any]], count: int) -> None:
        """Distinct triage-test tickets with their labels, alternately exact and near copies."""
        for k in self.rng.sample(range(len(test_tickets)), len(test_tickets)):
            if not count:
                return
            ticket = dict(test_tickets[k])
            if count % 2 == 0:
                ticket["message"] = near_copy(self.rng, ticket["message"])
                if ticket["message"] is None:
                    continue
            row = _export_row(self.rng, ticket, _random_time(self.rng))
            self.plant(row, "test_leak", ticket["ticket_id"])
            count -= 1

    def finish(self) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """Rows in time order with ids T100001... in that order, and the record of the defects."""
        order = sorted(range(len(self.rows)), key=lambda i: (self.rows[i]["created_at"], i))
        ids = {old: f"T{100001 + new:06d}" for new, old in enumerate(order)}
        out = []
        for old in order:
            row = dict(self.rows[old], ticket_id=ids[old])
            row["created_at"] = row["created_at"].strftime("%Y-%m-%dT%H:%M:%S")
            out.append({c: row[c] for c in EXPORT_COLUMNS})
        row_ids = {d: sorted(ids[i] for i, defect in enumerate(self.defect_of) if defect == d)
                   for d in DEFECTS}
        copies = sorted((ids[i], ids[src] if isinstance(src, int) else src)
                        for i, src in self.copy_of.items())
        return out, {
            "rows": len(out), "clean_base_rows": len(self.base),
            "planted": {d: len(row_ids[d]) for d in DEFECTS}, "row_ids": row_ids,
            "luhn_failing_reference_rows": sorted(ids[i] for i in self.reference_rows),
            "copy_of": dict(copies),
        }


def build_raw_export(rng: random.Random, index: ShingleIndex, used_orders: set[str],
                     test_tickets: Sequence[Mapping[str, Any]]
                     ) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The messy export: `RAW_CLEAN_ROWS` clean rows plus one extra row per planted defect
    (`DEFECT_COUNTS`), in time order. Returns the rows and the record of what was planted where
    (the content of raw_export_defects.json)."""
    export = _Export(rng, generate_tickets(RAW_CLEAN_ROWS, rng, index, used_orders, id_start=1))
    export.add_reference_numbers(LUHN_REFERENCES)
    export.plant_duplicates(DEFECT_COUNTS["exact_duplicate"], DEFECT_COUNTS["near_duplicate"])
    export.plant_leaks(test_tickets, DEFECT_COUNTS["test_leak"])
    # The other defects sit on fresh tickets, one each, so every count can be checked.
    for defect in ("blank_message", "missing_label", "too_long", "label_spelling", "html", "email",
                   "phone", "card_number"):
        for ticket in generate_tickets(DEFECT_COUNTS[defect], rng, index, used_orders, id_start=1):
            row = _export_row(rng, ticket, _random_time(rng))
            _plant_in_place(rng, row, ticket, defect)
            export.plant(row, defect)
    return export.finish()


def _plant_in_place(rng: random.Random, row: dict[str, Any], ticket: Mapping[str, Any], defect: str) -> None:
    """Give one fresh row its single defect."""
    message = ticket["message"]
    if defect == "blank_message":
        row["message"] = rng.choice(BLANKS)
    elif defect == "missing_label":
        row[rng.choice(("intent", "product", "urgency", "sentiment"))] = ""
    elif defect == "too_long":
        row["message"] = too_long_message(rng, ticket)
    elif defect == "label_spelling":
        fields = rng.sample(("intent", "product", "urgency", "sentiment"), rng.choice((1, 1, 2, 3)))
        for name in fields:
            row[name] = rng.choice(label_variants(name, ticket[name]))
    elif defect == "html":
        row["message"] = with_html(rng, message)
    elif defect == "email":
        address = email_address(rng, ticket["customer_name"] if rng.random() < 0.6 else None)
        row["message"] = insert_sentence(rng, message, rng.choice(EMAIL_SENTENCES).format(x=address))
    elif defect == "phone":
        sentence = rng.choice(PHONE_SENTENCES).format(x=phone_number(rng))
        row["message"] = insert_sentence(rng, message, sentence)
    elif defect == "card_number":
        number = _group_digits(rng, card_number(rng))
        row["message"] = insert_sentence(rng, message, rng.choice(CARD_SENTENCES).format(x=number))
    else:
        raise ValueError(f"not an in-place defect: {defect}")



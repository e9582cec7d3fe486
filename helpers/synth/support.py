"""The support desk of the course's fictional shop: tickets, a messy export, replies and preferences.

Everything comes from one `random.Random(seed)`, so the same seed writes byte-identical files:

    from helpers.synth.support import write_support_data
    write_support_data(Path("data/support"))

Tickets are composed from phrase banks (openings, problem statements per intent and product,
details, urgency and tone cues, closings, sign-offs) in four registers (polite, terse, angry,
chatty), then checked so that every label can be read off the text: the product is named (or no
product is), urgency and sentiment have matching cue words and no contradicting ones, and the order
id's digits appear. A shingle index keeps every ticket below `MAX_SIMILARITY` to every other one.
Replies are composed the same way and judged by `helpers.rubric.score_reply`.
"""

from __future__ import annotations

import csv
import json
import random
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from helpers.rubric import score_reply
from helpers.tasks import COMPANY, INTENTS, LABEL_ALIASES, PRODUCTS, normalize_label
from helpers.text import jaccard, normalize_text, shingles

MAX_SIMILARITY = 0.6          # no two generated tickets are this similar (Jaccard of word trigrams)
NEAR_COPY_SIMILARITY = 0.85   # planted near duplicates and near leaks are at least this similar
TICKET_FIELDS = ("ticket_id", "customer_name", "message", "intent", "product", "order_id",
                 "urgency", "sentiment")
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
SIZES = {"triage_test": 300, "raw_clean": 1500, "luhn_references": 30, "replies": 800,
         "preferences_train": 600, "preferences_test": 150}

# ---------------------------------------------------------------------------------------------
# Phrase banks for tickets
# ---------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Aisha", "Aleksander", "Amara", "Ana", "Andrea", "Aoife", "Arjun", "Ayesha", "Beatriz", "Ben",
    "Bilal", "Björn", "Carla", "Carmen", "Chen", "Chidi", "Chloe", "Claire", "Connor", "Daniel",
    "Darius", "Deepa", "Diego", "Dmitri", "Eilidh", "Elena", "Emeka", "Emma", "Erik", "Esther",
    "Fatima", "Felix", "Fiona", "Gabriel", "Hana", "Hannah", "Harriet", "Hassan", "Helga",
    "Ibrahim", "Ingrid", "Isla", "Jakub", "James", "Javier", "Jia", "Joanna", "Jonas", "José",
    "Karim", "Kasia", "Keiko", "Kwame", "Laila", "Léa", "Leon", "Lucia", "Luis", "Maeve", "Magnus",
    "Malik", "Marta", "Mateo", "Mehmet", "Mia", "Mohammed", "Nadia", "Naomi", "Nikolai", "Nuno",
    "Olga", "Oliver", "Omar", "Oskar", "Paolo", "Petra", "Priya", "Rachel", "Rafael", "Rania",
    "Rebecca", "Rohan", "Ruth", "Saanvi", "Sara", "Sebastian", "Shreya", "Simone", "Siobhán",
    "Sofia", "Stefan", "Tariq", "Thomas", "Tobias", "Uma", "Valentina", "Victor", "Wei", "Yara",
    "Yasmin", "Zainab", "Zoë",
)
LAST_NAMES = (
    "Adeyemi", "Ali", "Alves", "Baker", "Banerjee", "Becker", "Berg", "Brennan", "Brown", "Byrne",
    "Campbell", "Chen", "Clarke", "Conti", "Costa", "Demir", "Dubois", "Esposito", "Evans",
    "Fernández", "Fischer", "García", "Greco", "Haddad", "Horvath", "Hughes", "Hussain", "Ivanova",
    "Iyer", "Jensen", "Kelly", "Khan", "Kim", "Kowalski", "Larsen", "Lewis", "Lindqvist", "Liu",
    "MacLeod", "Mendes", "Mensah", "Moreau", "Murphy", "Nguyen", "Novak", "Nowak", "O'Neill",
    "Okafor", "Owusu", "Park", "Patel", "Pereira", "Petrov", "Reddy", "Robinson", "Romano",
    "Santos", "Sato", "Schmidt", "Shah", "Silva", "Stewart", "Tanaka", "Thompson", "Virtanen",
    "Walsh", "Watanabe", "Weber", "Wong", "Wright", "Yilmaz",
)
# Agents sign replies; none of them shares a first name with a customer.
AGENT_NAMES = ("Sam", "Alex", "Jordan", "Robin", "Kai", "Noor", "Elif", "Tomasz", "Ines", "Ravi",
               "Freya", "Callum", "Mei", "Yusuf", "Lena", "Niamh")

# How a customer names each product; plural names take plural verbs and pronouns.
PRODUCT_MENTIONS: dict[str, tuple[str, ...]] = {
    "kettle": ("kettle", "electric kettle", "glass kettle", "cordless kettle"),
    "desk_lamp": ("desk lamp", "LED desk lamp", "reading lamp", "lamp", "clip-on desk lamp"),
    "blender": ("blender", "smoothie blender", "jug blender", "high-speed blender"),
    "headphones": ("headphones", "wireless headphones", "noise-cancelling headphones",
                   "over-ear headphones", "headset"),
    "backpack": ("backpack", "laptop backpack", "rucksack", "travel backpack"),
    "coffee_grinder": ("coffee grinder", "burr grinder", "grinder", "electric coffee grinder"),
    "smart_plug": ("smart plug", "wifi smart plug", "smart socket", "plug"),
    "yoga_mat": ("yoga mat", "exercise mat", "non-slip yoga mat", "cork yoga mat", "mat"),
}
PLURAL_MENTIONS = {"headphones", "wireless headphones", "noise-cancelling headphones",
                   "over-ear headphones"}
# A message names a product exactly when one of these matches; used to check inferability.
PRODUCT_KEYWORDS: dict[str, str] = {
    "kettle": r"kettles?", "desk_lamp": r"lamps?", "blender": r"blenders?",
    "headphones": r"headphones|headsets?", "backpack": r"backpacks?|rucksacks?",
    "coffee_grinder": r"grinders?|coffee mill", "smart_plug": r"plugs?|smart sockets?",
    "yoga_mat": r"mats?",
}
# (clause, noun phrase) describing damage, per product.
DAMAGE: dict[str, tuple[tuple[str, str], ...]] = {
    "kettle": (("the lid hinge has snapped", "a snapped lid hinge"),
               ("the glass has a crack down one side", "a cracked glass body"),
               ("the base is badly dented", "a dented base"),
               ("the handle is loose and wobbles", "a loose handle")),
    "desk_lamp": (("the arm is bent", "a bent arm"), ("the shade is cracked", "a cracked shade"),
                  ("the clip has snapped off", "a broken clip"),
                  ("the switch is hanging out", "a broken switch")),
    "blender": (("the jug has a crack near the handle", "a cracked jug"),
                ("one of the blades is bent", "a bent blade"), ("the lid is split", "a split lid"),
                ("the base is scratched and dented", "a scratched base")),
    "headphones": (("one ear cup is split", "a split ear cup"),
                   ("the headband has snapped", "a snapped headband"),
                   ("the left side makes no sound at all", "a dead left speaker"),
                   ("the charging port is pushed in", "a broken charging port")),
    "backpack": (("the main zip is torn off", "a torn zip"),
                 ("one strap has ripped at the seam", "a ripped strap"),
                 ("there's a hole in the bottom", "a hole in the bottom"),
                 ("the buckle is snapped", "a snapped buckle")),
    "coffee_grinder": (("the hopper is cracked", "a cracked hopper"),
                       ("the lid is bent and won't click shut", "a bent lid"),
                       ("the motor rattles and then stops", "a rattling motor"),
                       ("the dial has come off", "a loose dial")),
    "smart_plug": (("the casing is split open", "a split casing"), ("the pins are bent", "bent pins"),
                   ("it sparks when I switch it on", "a scorch mark on the front"),
                   ("the button is pushed in and stuck", "a stuck button")),
    "yoga_mat": (("there's a long tear across the middle", "a long tear across it"),
                 ("it's covered in black marks", "black marks all over it"),
                 ("the edge is ripped", "a ripped edge"), ("the surface is peeling", "a peeling surface")),
}
# Product questions, as verb phrases after "does it" / "do they".
QUESTIONS: dict[str, tuple[str, ...]] = {
    "kettle": ("have a keep-warm setting", "switch off by itself if it boils dry",
               "let you choose the temperature for green tea", "come with a limescale filter"),
    "desk_lamp": ("let you change the colour temperature", "have a USB charging port",
                  "work with a dimmer switch", "come with a clip for the desk edge"),
    "blender": ("crush ice", "have a pulse setting", "have a dishwasher-safe jug", "handle frozen fruit"),
    "headphones": ("connect to two devices at once", "work with a cable as well",
                   "have a microphone for calls", "fold flat for travel"),
    "backpack": ("fit a 16 inch laptop", "come with a rain cover", "count as cabin luggage",
                 "have a chest strap"),
    "coffee_grinder": ("go fine enough for espresso", "have a timer", "grind spices as well",
                       "remember the grind setting"),
    "smart_plug": ("work with Google Home", "work without the app", "show energy use",
                   "handle a fan heater"),
    "yoga_mat": ("have a carry strap", "work for hot yoga", "come in a thicker version",
                 "grip well on wooden floors"),
}
WRONG_THINGS = (
    "the wrong colour", "a completely different item", "someone else's order", "the wrong size",
    "an older model", "a set of kitchen scales", "a box of candles", "a phone case",
    "two of the same cable and nothing else", "a children's version", "the display model",
)
AGO = ("a week ago", "ten days ago", "last Tuesday", "two weeks ago", "on Monday", "at the weekend",
       "last month", "a few days ago", "nearly three weeks ago")


@dataclass(frozen=True)
class IntentBank:
    """Problem statements for one intent: with a product or without, with `{o}` (the order)
    embedded or not, terse (lower-case, fragmentary) ones, and optional detail sentences."""

    product: tuple[str, ...] = ()
    no_product: tuple[str, ...] = ()
    terse_product: tuple[str, ...] = ()
    terse_no_product: tuple[str, ...] = ()
    details: tuple[str, ...] = ()


BANKS: dict[str, IntentBank] = {
    "refund_request": IntentBank(
        product=(
            "Could I please have a refund for {the_p} from {o}?",
            "I'd like a refund on {o}, {the_p} just isn't what I was after.",
            "Please refund {o}. {The_p} stopped working after a couple of uses.",
            "I sent {the_p} back {ago} and still haven't had the refund for {o}.",
            "Can you refund {o}? I ended up buying {a_p} in a shop before yours arrived.",
            "I want my money back for {the_p} in {o}, {it} {doesnt} work as described.",
            "Requesting a refund for {the_p} ({o}); {it} arrived more than a week late.",
            "I'd like a refund for {the_p} I bought {ago}.",
            "Can I get my money back on {the_p}? {It} {is} much smaller than the photos suggest.",
            "How do I get a refund for {the_p}? I've changed my mind about {it_obj}.",
            "I returned {the_p} {ago} but the refund still hasn't come through.",
            "Please can you refund me for {the_p}, {it} never worked properly.",
            "I'd like my money back for {the_p} because {it} arrived long after the promised date.",
            "The refund for {the_p} hasn't reached my account yet and it was approved {ago}.",
        ),
        terse_product=(
            "refund for {o} pls, {m} not working", "want a refund on the {m}",
            "need refund for {the_p} {o}", "refund {o} - {m} not as described",
            "{m} stopped working. refund please",
        ),
        details=("I still have the original box.", "I only used {it_obj} twice.",
                 "The box is unopened.", "It was meant to be a gift.", "I paid by card.",
                 "I've kept the receipt."),
    ),
    "order_status": IntentBank(
        product=(
            "Where is {the_p} I ordered? The tracking for {o} still says processing.",
            "Any update on {o}? I ordered {a_p} {ago} and nothing has arrived.",
            "My {m} hasn't arrived yet and the tracking for {o} hasn't moved in days.",
            "Could you check where {o} is? It's {a_p} and the delivery date has passed.",
            "I ordered {a_p} {ago} ({o}) and haven't had a dispatch email.",
            "Has {the_p} from {o} been shipped yet?",
            "The tracking link for my {m} just says 'label created'.",
            "When will {the_p} be shipped? I ordered {it_obj} {ago}.",
            "I'm still waiting for {the_p} I ordered {ago}.",
        ),
        no_product=(
            "Where is {o}? It was supposed to arrive on Tuesday.",
            "Can you tell me the status of {o}?",
            "I haven't received anything yet for {o}, is it on its way?",
            "Has {o} been dispatched yet? The tracking page shows nothing.",
            "The courier says {o} was delivered but nothing came to my door.",
            "Tracking for {o} hasn't updated since the weekend.",
            "My parcel still hasn't turned up and the tracking page won't load.",
            "I placed an order {ago} and have heard nothing since.",
            "The courier marked my parcel as delivered but it isn't here.",
        ),
        terse_product=("where's my {m}", "still no sign of the {m} from {o}",
                       "{m} not arrived, {o}"),
        terse_no_product=("where is {o}", "{o} status?", "still waiting on {o}",
                          "tracking not updating for {o}", "parcel not here yet"),
        details=("The estimated date was last week.", "I've checked with my neighbours.",
                 "The tracking page just shows 'in transit'.", "I paid for express delivery.",
                 "It's been over a week now."),
    ),
    "damaged_item": IntentBank(
        product=(
            "I just unpacked {the_p} from {o} and {damage}.",
            "{The_p} in {o} arrived damaged: {damage}.",
            "Unfortunately {the_p} from {o} came with {damage_np}.",
            "The box for {o} was crushed and {the_p} inside {has} {damage_np}.",
            "{The_p} arrived damaged: {damage}.",
            "My {m} came broken, {damage}.",
            "I've just opened {the_p} and {damage}.",
            "{The_p} I received {has} {damage_np}.",
            "The courier must have dropped {the_p}, because {damage}.",
        ),
        terse_product=("{m} arrived broken, {damage}", "{o} - {m} damaged, {damage}",
                       "damaged {m}, {damage_np}"),
        details=("The outer box looked fine.", "I haven't used {it_obj} at all.",
                 "I have photos if you need them.", "The packaging was very thin."),
    ),
    "wrong_item": IntentBank(
        product=(
            "I ordered {a_p} but {o} contained {wrong}.",
            "There's been a mix-up with {o}: I paid for {a_p} and got {wrong}.",
            "Instead of {the_p} I ordered, {o} had {wrong} in it.",
            "The parcel for {o} had {wrong} in it rather than {the_p}.",
            "I ordered {a_p} but received {wrong}.",
            "You sent me {wrong} instead of {the_p} I ordered.",
            "The box had {wrong} in it, not the {m} I paid for.",
            "Got {wrong} instead of {a_p}.",
        ),
        terse_product=("wrong item - got {wrong}, ordered {a_p}", "{o} wrong item, no {m} in the box",
                       "ordered {a_p}, got {wrong}"),
        details=("The packing slip has someone else's name on it.",
                 "The box was sealed, so it was packed like that.",
                 "I'd still like the one I ordered.",
                 "The label on the box is right but the contents aren't."),
    ),
    "cancel_order": IntentBank(
        product=(
            "Please cancel {o}, I ordered {a_p} by mistake.",
            "Can I still cancel {the_p} ({o}) before it ships?",
            "I'd like to cancel {o}; I found {a_p} I prefer elsewhere.",
            "I need to cancel my order for {the_p}, it's {o}.",
            "I need to cancel my order for {the_p}.",
            "Please cancel {the_p} I ordered {ago}, I no longer need {it_obj}.",
            "Is it too late to cancel {the_p}?",
        ),
        no_product=(
            "Please cancel {o}, I've changed my mind.",
            "I placed {o} twice by accident, please cancel the duplicate.",
            "I'd like to cancel {o} before it is dispatched.",
            "Could you cancel {o}? I don't need it any more.",
            "Can {o} still be cancelled?",
            "Can you cancel my last order? I no longer need it.",
            "I'd like to cancel the order I placed {ago}.",
        ),
        terse_product=("cancel my {m} order", "need to cancel the {m}, {o}"),
        terse_no_product=("cancel {o} pls", "pls cancel {o}", "need to cancel {o}",
                          "cancel my last order"),
        details=("It hasn't shipped yet according to the app.", "I ordered the wrong one.",
                 "I'll reorder later.", "I found it cheaper elsewhere."),
    ),
    "billing_issue": IntentBank(
        product=(
            "I was charged full price for {the_p} in {o} even though it was on sale.",
            "The {m} in {o} was charged twice on my card.",
            "I was charged full price for {the_p} although the site showed a discount.",
            "My card was charged twice for {the_p}.",
        ),
        no_product=(
            "I've been charged twice for {o}.",
            "The invoice for {o} shows the wrong amount.",
            "My discount code wasn't applied to {o}.",
            "I was charged for delivery on {o} even though it should have been free.",
            "There's an extra charge on my card for {o} that I don't understand.",
            "There's a payment on my statement from {company} that I don't recognise.",
            "My card was charged but the order never went through.",
            "I got a payment failed email but the money has left my account.",
            "I was billed again for a subscription I cancelled.",
            "The VAT on my invoice looks wrong.",
        ),
        terse_product=("charged twice for the {m}",),
        terse_no_product=("charged twice {o}", "double charge on my card",
                          "wrong amount charged for {o}"),
        details=("I paid with a debit card.", "My bank shows two identical payments.",
                 "I've attached a screenshot of the statement.",
                 "The amount was about twice the order total."),
    ),
    "account_access": IntentBank(
        no_product=(
            "I can't log into my account at all.",
            "The password reset email never arrives.",
            "My account says it's locked after too many attempts.",
            "I can't sign in since I changed my email address.",
            "The login page keeps saying my password is wrong, even after a reset.",
            "I'm stuck in a loop on the verification code step.",
            "My account seems to have disappeared and my order history with it.",
            "I keep getting an error when I try to sign in on the app.",
            "I want to check {o} but I can't get into my account.",
            "I can't log in to see {o}, the page just reloads.",
        ),
        terse_no_product=("cant log in", "password reset not working", "locked out of my account",
                          "login broken again"),
        details=("I've tried two different browsers.", "I've checked my spam folder.",
                 "It worked fine last month.", "I use the same email as always."),
    ),
    "product_question": IntentBank(
        product=(
            "I have {the_p} from {o}; {does} {it} {q}?",
            "Quick question about {the_p} in {o}: {does} {it} {q}?",
            "{Does} {the_p} {q}?",
            "Quick question about {the_p}: {does} {it} {q}?",
            "I'm thinking of buying {a_p}. {Does} {it} {q}?",
            "How do I reset {the_p}?",
            "Where can I find the manual for {the_p}?",
            "What's the warranty on {the_p}?",
            "How do I clean {the_p} properly?",
            "Is there a newer version of {the_p} coming out?",
        ),
        terse_product=("does the {m} {q}?", "{m} - {does} {it} {q}?", "manual for the {m}?"),
        details=("I'd like to use {it_obj} every day.",
                 "I've read the product page but couldn't find it.", "It's for my partner.",
                 "I want to be sure before ordering."),
    ),
    "return_request": IntentBank(
        product=(
            "I'd like to return {the_p} from {o}.",
            "Could you send me a return label for {the_p} in {o}?",
            "How do I send back {the_p} from {o}? {It} {doesnt} suit my flat.",
            "Can I exchange {the_p} from {o} for a different colour?",
            "How do I return {the_p}? {It} {isnt} right for me.",
            "Can I still return {the_p}? I've had {it_obj} about three weeks.",
            "I want to send {the_p} back, {it} {is} bigger than I expected.",
            "What's the process for returning {the_p}?",
            "The {m} {isnt} for me, how do I send {it_obj} back?",
        ),
        terse_product=("how do i return the {m}", "return label for {o} pls",
                       "want to send the {m} back"),
        details=("It's still in the original packaging.", "I've only tried {it_obj} once.",
                 "I'd prefer a drop-off point rather than a collection.",
                 "The box hasn't been thrown away."),
    ),
    "delivery_change": IntentBank(
        product=(
            "Could you send {the_p} from {o} to a different address?",
            "Can {the_p} in {o} go to my office instead?",
            "Could {the_p} I ordered be delivered to my parents' house instead?",
            "I'd like {the_p} sent to my work address rather than home.",
        ),
        no_product=(
            "Can I change the delivery address for {o}?",
            "I'll be away next week, could you hold {o} until I'm back?",
            "Please deliver {o} to my work address instead.",
            "Could the courier leave {o} with a neighbour?",
            "I've moved house, can you update the address on {o}?",
            "Is it possible to change the delivery day for {o}?",
            "I need to change the delivery address on my order.",
            "Could my parcel go to a pickup point instead of my home?",
            "Can I pick the order up from a locker rather than have it delivered?",
        ),
        terse_no_product=("change address for {o}", "deliver {o} to my office pls",
                          "new address for my order"),
        details=("I'll send the new address once you confirm.", "Nobody will be home during the day.",
                 "The new address is just round the corner.", "I'm staying with family for a while."),
    ),
}

# Share of tickets per intent that are about no product, and that name an order.
NO_PRODUCT_SHARE = {"account_access": 1.0, "billing_issue": 0.6, "order_status": 0.3,
                    "cancel_order": 0.3, "delivery_change": 0.45}
ORDER_SHARE = {"account_access": 0.1, "product_question": 0.35}
DEFAULT_ORDER_SHARE = 0.82
URGENCY_WEIGHTS = {"product_question": (0.5, 0.4, 0.1), "account_access": (0.1, 0.4, 0.5),
                   "delivery_change": (0.1, 0.4, 0.5), "cancel_order": (0.1, 0.4, 0.5),
                   "damaged_item": (0.15, 0.45, 0.4)}
DEFAULT_URGENCY_WEIGHTS = (0.25, 0.45, 0.3)  # low, medium, high
SENTIMENT_WEIGHTS = {"product_question": (0.05, 0.6, 0.35), "damaged_item": (0.55, 0.35, 0.1),
                     "wrong_item": (0.55, 0.35, 0.1), "billing_issue": (0.5, 0.4, 0.1),
                     "return_request": (0.2, 0.6, 0.2), "delivery_change": (0.15, 0.6, 0.25),
                     "cancel_order": (0.2, 0.65, 0.15)}
DEFAULT_SENTIMENT_WEIGHTS = (0.45, 0.45, 0.1)  # negative, neutral, positive
# Intent mix of the raw export (a real desk sees more "where is my order" than anything else).
EXPORT_INTENT_WEIGHTS = (0.12, 0.16, 0.11, 0.08, 0.09, 0.09, 0.08, 0.10, 0.09, 0.08)

URGENCY_CUES = {
    "high": ("This is urgent.", "It's urgent, please.", "I need this sorted today.",
             "Please deal with this asap.", "I need this sorted by Friday.",
             "Please reply as soon as possible.", "I need an answer today.",
             "Please sort this out immediately.", "URGENT.", "Need this fixed right away."),
    "low": ("No rush.", "No rush at all.", "Not urgent, just wanted to flag it.",
            "Whenever you get a chance.", "No hurry on this.", "Take your time with this.",
            "When you have a moment.", "It's not urgent."),
}
# Deadlines that only make sense for a parcel still to come.
PARCEL_URGENCY_CUES = ("It's a present for tomorrow.", "I need it by Saturday for a trip.",
                       "I'm travelling on Saturday so I need this fixed by Friday.",
                       "It's for a birthday tomorrow.", "I need it before I leave tomorrow.")
PARCEL_INTENTS = ("order_status", "damaged_item", "wrong_item", "delivery_change")
TERSE_URGENCY_CUES = {"high": ("urgent", "asap pls", "need it today", "asap"),
                      "low": ("no rush", "not urgent", "no hurry")}
TONE_CUES = {
    "negative": ("This is really disappointing.", "Honestly, this is unacceptable.",
                 "I'm fed up with this.", "Absolutely ridiculous!!", "Not happy at all.",
                 "This is so frustrating.", "Worst experience I've had with an online shop.",
                 "I'm really annoyed.", "Shocking service.", "Very disappointed.", "What a joke."),
    "positive": ("Love your shop!", "I'm a big fan of your products.", "Thanks so much for your help!",
                 "You've always been great.", "I really love everything else I've bought from you.",
                 "Your service is usually brilliant.", "Really happy with the rest of the order.",
                 "Thank you so much in advance!", "Lovely shop, by the way."),
}
TERSE_TONE_CUES = {"negative": ("ridiculous", "not happy", "so annoying", "unacceptable"),
                   "positive": ("love the shop though", "thanks so much")}
# The words that signal a label; a message must have its label's cue and none of the others.
URGENCY_PATTERNS = {
    "high": re.compile(r"\b(urgent\w*|asap|today|tonight|tomorrow|immediately|right away|right now|"
                       r"as soon as possible|by (monday|tuesday|wednesday|thursday|friday|saturday|"
                       r"sunday)|deadline|emergency)\b", re.IGNORECASE),
    "low": re.compile(r"\b(no rush|no hurry|not urgent|whenever|when you have a moment|"
                      r"take your time|just curious|low priority)\b", re.IGNORECASE),
}
SENTIMENT_PATTERNS = {
    "negative": re.compile(r"(\b(unacceptable|ridiculous|disappoint\w*|annoy\w*|fed up|terrible|"
                           r"awful|furious|frustrat\w*|worst|joke|useless|rubbish|appalling|"
                           r"not happy|angry|sick of|fuming|shocking|disgrace\w*)\b|!!)",
                           re.IGNORECASE),
    "positive": re.compile(r"\b(love|loved|lovely|great|brilliant|fantastic|amazing|wonderful|"
                           r"excellent|big fan|really happy|so happy|delighted|thanks so much|"
                           r"thank you so much|awesome|superb|impressed)\b", re.IGNORECASE),
}
OPENINGS = {
    "polite": ("Hello,", "Hi,", "Hi there,", "Good morning,", "Good afternoon,",
               "Dear {company} team,", "Hello support,", "Dear support team,"),
    "chatty": ("Hi team, hope you're well!", "Hey there!", "Hi folks,", "Hello hello!", "Morning all,",
               "Hi, hope your week is going well."),
    "angry": ("Hello.", "Right,", "To whom it may concern,", "Hi.", "Once again,"),
    "terse": ("hi", "hey", "hello"),
}
CLOSINGS = {
    "polite": ("Thanks.", "Thank you.", "Many thanks.", "Thanks in advance.", "Thank you for your help."),
    "chatty": ("Cheers!", "Thanks a lot!", "Have a nice day!", "Speak soon!", "Thanks a bunch."),
    "angry": ("I expect a reply.", "Sort it out.", "Waiting for your answer."),
    "terse": ("thx", "ta", "thanks"),
}
SIGNOFFS = {
    "polite": ("Thanks, {n}", "Many thanks, {n}", "Kind regards, {n}", "Best wishes, {n}", "- {n}"),
    "chatty": ("Cheers, {n}", "Thanks!! {n}", "Best, {n}", "{n} x"),
    "angry": ("- {n}", "{n}", "Regards, {n}"),
    "terse": ("- {n}", "{n}"),
}
REGISTER_WEIGHTS = {"negative": (("angry", 0.6), ("terse", 0.4)),
                    "neutral": (("polite", 0.5), ("terse", 0.25), ("chatty", 0.25)),
                    "positive": (("polite", 0.5), ("chatty", 0.5))}
MISSPELLINGS = {"received": "recieved", "address": "adress", "definitely": "definately",
                "which": "wich", "until": "untill", "because": "becuase", "really": "realy",
                "please": "plese", "the": "teh", "still": "stil",
                "arrived": "arived", "delivery": "delivey", "account": "acount"}
ORDER_REF_FORMS = ("LL-{d}", "#{d}", "{d}", "ll{d}", "LL {d}")
ORDER_SENTENCES = ("My order number is {r}.", "Order number: {r}.", "It's order {r}.",
                   "Order ref: {r}.", "The order number is {r}.", "This is about order {r}.",
                   "Order {r}.", "For reference, it's order {r}.")
# An order named inside a sentence ("where is order number 482913?") may lead with these words.
ORDER_NP_PREFIXES = ("", "", "order ", "order number ")
# While a message is edited (lower-cased, typos), the order reference is a placeholder: _REF is a
# bare reference (after words such as "order"), _ORDER_NP a noun phrase that may add "order ".
_REF, _ORDER_NP = "\x00", "\x01"
# Bare digits read as an order number only after one of these.
_BARE_DIGITS_AFTER = re.compile(r"(order|order number|ref:|number:|number is|order:) $", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Tickets
# ---------------------------------------------------------------------------------------------

class ShingleIndex:
    """Word-trigram shingles of every accepted text, with an inverted index, so that a candidate
    is compared only with the texts it shares a shingle with."""

    def __init__(self, threshold: float = MAX_SIMILARITY) -> None:
        self.threshold = threshold
        self._postings: dict[str, list[int]] = {}
        self._sizes: list[int] = []

    def __len__(self) -> int:
        return len(self._sizes)

    def too_close(self, text: str) -> bool:
        """Whether `text` is at least `threshold`-similar to a text already in the index."""
        candidate = shingles(text)
        overlap: dict[int, int] = {}
        for shingle in candidate:
            for other in self._postings.get(shingle, ()):
                overlap[other] = overlap.get(other, 0) + 1
        size = len(candidate)
        return any(common / (size + self._sizes[other] - common) >= self.threshold
                   for other, common in overlap.items())

    def add(self, text: str) -> None:
        """Index `text`."""
        number = len(self._sizes)
        parts = shingles(text)
        self._sizes.append(len(parts))
        for shingle in parts:
            self._postings.setdefault(shingle, []).append(number)


def _weighted(rng: random.Random, values: Sequence[str], weights: Sequence[float]) -> str:
    return rng.choices(values, weights=weights, k=1)[0]


def _product_slots(rng: random.Random, product: str) -> dict[str, str]:
    """The product's name in a message, with matching determiners, pronouns and verbs."""
    if product == "none":
        return {}
    mention = rng.choice(PRODUCT_MENTIONS[product])
    plural = mention in PLURAL_MENTIONS
    det = rng.choice(("the", "my"))
    if plural:
        a_p = f"a pair of {mention}"
    else:
        a_p = ("an " if mention[0].lower() in "aeiou" or mention.startswith("LED") else "a ") + mention
    damage, damage_np = rng.choice(DAMAGE[product])
    return {
        "m": mention, "the_p": f"{det} {mention}", "The_p": f"{det.capitalize()} {mention}",
        "a_p": a_p, "it": "they" if plural else "it", "It": "They" if plural else "It",
        "it_obj": "them" if plural else "it", "is": "are" if plural else "is",
        "does": "do" if plural else "does", "Does": "Do" if plural else "Does",
        "has": "have" if plural else "has", "doesnt": "don't" if plural else "doesn't",
        "isnt": "aren't" if plural else "isn't",
        "damage": damage, "damage_np": damage_np, "q": rng.choice(QUESTIONS[product]),
    }


def _fill(template: str, slots: Mapping[str, str]) -> str:
    return template.format_map(slots)


def _lower_first(text: str) -> str:
    # "Hi there, the kettle ..." reads better than "Hi there, The kettle ..."; keep "I" and names.
    if text[:2] in ("I ", "I'") or text.startswith(COMPANY) or not text[:1].isupper():
        return text
    return text[0].lower() + text[1:]


def sentence_count(text: str) -> int:
    """Sentences in a message: runs of . ! ? followed by a space or the end, plus a trailing fragment."""
    text = text.strip()
    ends = len(re.findall(r"[.!?]+(?=\s|$)", text))
    return ends + (0 if re.search(r"[.!?]$", text) else 1)


def detected_products(message: str) -> list[str]:
    """The products a message names, by `PRODUCT_KEYWORDS` (word boundaries, any case)."""
    return [p for p, pattern in PRODUCT_KEYWORDS.items()
            if re.search(rf"\b(?:{pattern})\b", message, re.IGNORECASE)]


def _cues(patterns: Mapping[str, re.Pattern[str]], text: str) -> set[str]:
    return {label for label, pattern in patterns.items() if pattern.search(text)}


def labels_readable(message: str, labels: Mapping[str, Any]) -> bool:
    """Whether a message carries what its labels claim: the product named (or none), cue words
    for high/low urgency and negative/positive tone and none for another value, the order digits."""
    product = labels["product"]
    if detected_products(message) != ([] if product == "none" else [product]):
        return False
    urgency_cues = _cues(URGENCY_PATTERNS, message)
    if urgency_cues != ({labels["urgency"]} if labels["urgency"] != "medium" else set()):
        return False
    tone_cues = _cues(SENTIMENT_PATTERNS, message)
    if tone_cues != ({labels["sentiment"]} if labels["sentiment"] != "neutral" else set()):
        return False
    digits = re.findall(r"\d{5,}", message)
    wanted = [labels["order_id"][3:]] if labels["order_id"] else []
    # Only the order's own six digits; no long digit runs a PII scrubber could take for a phone.
    return digits == wanted and not re.search(r"\d(?:[\s\-().]?\d){6,}", message) and "@" not in message


def _add_typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if w.lower().strip(".,!?") in MISSPELLINGS]
    if spots and rng.random() < 0.6:
        i = rng.choice(spots)
        core = words[i].strip(".,!?")
        wrong = MISSPELLINGS[core.lower()]
        words[i] = words[i].replace(core, wrong if core.islower() else wrong.capitalize(), 1)
        return " ".join(words)
    spots = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not spots:
        return text
    i = rng.choice(spots)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]  # two neighbouring letters swapped
    return " ".join(words)


def _customer_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _new_order_digits(rng: random.Random, used: set[str]) -> str:
    while True:
        digits = f"{rng.randrange(100000, 1000000)}"
        if digits not in used:
            used.add(digits)
            return digits


def _join_terse(sentences: list[str]) -> str:
    # Terse writers drop full stops but keep question and exclamation marks.
    out = ""
    for sentence in sentences:
        sentence = sentence.rstrip(".")
        out += sentence if not out else (" " if out[-1] in "?!" else ". ") + sentence
    return out


def _compose_message(rng: random.Random, labels: Mapping[str, Any], name: str | None) -> str | None:
    """One attempt at a message for these labels, with the order as a placeholder; None when the
    parts do not fit in four sentences. One message in ten gets a typo (never in the name)."""
    intent, product = labels["intent"], labels["product"]
    bank = BANKS[intent]
    register = _weighted(rng, *zip(*REGISTER_WEIGHTS[labels["sentiment"]]))
    terse = register == "terse"
    slots = {"company": COMPANY, "ago": rng.choice(AGO), "wrong": rng.choice(WRONG_THINGS),
             "o": _ORDER_NP, **_product_slots(rng, product)}
    has_order = labels["order_id"] is not None
    pool = bank.product if product != "none" else bank.no_product
    if terse and rng.random() < 0.7:
        pool = (bank.terse_product if product != "none" else bank.terse_no_product) or pool
    pool = [t for t in pool if has_order or "{o}" not in t]
    if not pool:
        return None
    core = _fill(rng.choice(pool), slots)
    if register == "chatty" and rng.random() < 0.3:
        core = "So, " + _lower_first(core)
    if register == "angry" and core.endswith(".") and rng.random() < 0.4:
        core = core[:-1] + rng.choice(("!", "!!"))

    tone = ""
    if labels["sentiment"] != "neutral":
        tone = rng.choice((TERSE_TONE_CUES if terse else TONE_CUES)[labels["sentiment"]])
    tone_first = rng.random() < 0.5
    opening = ""
    if rng.random() < {"polite": 0.8, "chatty": 0.9, "angry": 0.35, "terse": 0.2}[register] and \
            not (terse and tone and tone_first):  # "hey unacceptable." reads oddly
        opening = rng.choice(OPENINGS[register]).format(company=COMPANY)
    parts: list[str] = [tone] if tone and tone_first else []  # the message's sentences, in order
    parts.append(core)
    if has_order and _ORDER_NP not in core:
        parts.append(rng.choice(("order " + _REF, _ORDER_NP)) if terse
                     else rng.choice(ORDER_SENTENCES).format(r=_REF))
    detail = _fill(rng.choice(bank.details), slots) if rng.random() < (0.3 if terse else 0.5) else ""
    if detail:
        parts.append(detail)
    if labels["urgency"] != "medium":
        cues = (TERSE_URGENCY_CUES if terse else URGENCY_CUES)[labels["urgency"]]
        if labels["urgency"] == "high" and not terse and intent in PARCEL_INTENTS:
            cues = cues + PARCEL_URGENCY_CUES
        parts.append(rng.choice(cues))
    if tone and not tone_first:
        parts.append(tone)
    closing = rng.choice(CLOSINGS[register]) if rng.random() < 0.45 else ""
    signoff = ""
    if name and rng.random() < 0.5:
        signoff = rng.choice(SIGNOFFS[register]).format(n=rng.choice((name.split()[0], name)))
    if closing and not signoff:
        parts.append(closing)

    def render() -> str:
        body = list(parts)
        if opening.endswith(","):
            body[0] = _lower_first(body[0])
        text = _join_terse(body) if terse else " ".join(body)
        return f"{opening} {text}" if opening else text

    # Drop optional parts (detail, closing, opening) until the message has at most four sentences.
    for optional in (detail, closing):
        if sentence_count(render()) > 4 and optional and optional in parts:
            parts.remove(optional)
    if sentence_count(render()) > 4:
        opening = ""
    if sentence_count(render()) > 4:
        return None
    text = render()
    if terse and rng.random() < 0.6:
        text = text.lower()
    if rng.random() < 0.1:
        text = _add_typo(rng, text)  # the caller checks the result like any other draft
    if signoff:
        text = f"{text} {signoff}" if terse or text[-1] in ".!?" else f"{text}. {signoff}"
    return text


def _place_order(draft: str, digits: str, rng: random.Random) -> str:
    """Put the order reference, in one of the export's formats, where the placeholders are."""
    ref = rng.choice(ORDER_REF_FORMS).format(d=digits)
    noun_phrase = rng.choice(ORDER_NP_PREFIXES) + ref
    if noun_phrase == digits:
        noun_phrase = "order " + digits  # bare digits inside a sentence read as an order only so
    if ref == digits and not _BARE_DIGITS_AFTER.search(draft.split(_REF)[0]):
        ref = "#" + digits
    return draft.replace(_ORDER_NP, noun_phrase).replace(_REF, ref)


def make_ticket(rng: random.Random, intent: str, used_orders: set[str], ticket_id: str) -> dict[str, Any]:
    """One ticket for `intent`: labels drawn from the intent's mix, then a message that shows them."""
    while True:
        product = "none" if rng.random() < NO_PRODUCT_SHARE.get(intent, 0.0) else \
            rng.choice(PRODUCTS[:-1])
        has_order = rng.random() < ORDER_SHARE.get(intent, DEFAULT_ORDER_SHARE)
        digits = _new_order_digits(rng, used_orders) if has_order else None
        labels = {
            "intent": intent, "product": product, "order_id": f"LL-{digits}" if digits else None,
            "urgency": _weighted(rng, ("low", "medium", "high"),
                                 URGENCY_WEIGHTS.get(intent, DEFAULT_URGENCY_WEIGHTS)),
            "sentiment": _weighted(rng, ("negative", "neutral", "positive"),
                                   SENTIMENT_WEIGHTS.get(intent, DEFAULT_SENTIMENT_WEIGHTS)),
        }
        name = _customer_name(rng) if rng.random() < 0.7 else None
        for _ in range(20):
            draft = _compose_message(rng, labels, name)
            if draft is None:
                continue
            message = _place_order(draft, digits, rng) if digits else draft
            words = len(message.split())
            if 10 <= words <= 70 and len(message) < 450 and labels_readable(message, labels):
                return {"ticket_id": ticket_id, "customer_name": name, "message": message, **labels}
        if digits:
            used_orders.discard(digits)


def generate_tickets(n: int, rng: random.Random, index: ShingleIndex, used_orders: set[str],
                     *, id_start: int, intents: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """`n` tickets, none too similar to each other or to anything already in `index`.

    `intents` fixes each ticket's intent (for a balanced set); by default intents are drawn with
    the export's mix. Ids run `T{id_start:06d}` upwards. Accepted messages are added to `index`.
    """
    tickets = []
    for i in range(n):
        intent = intents[i] if intents is not None else _weighted(rng, INTENTS, EXPORT_INTENT_WEIGHTS)
        while True:
            ticket = make_ticket(rng, intent, used_orders, f"T{id_start + i:06d}")
            if not index.too_close(ticket["message"]):
                break
            if ticket["order_id"]:
                used_orders.discard(ticket["order_id"][3:])
        index.add(ticket["message"])
        tickets.append(ticket)
    return tickets


def balanced_intents(n: int, rng: random.Random) -> list[str]:
    """`n` intents, as even as possible, in random order."""
    intents = [INTENTS[i % len(INTENTS)] for i in range(n)]
    rng.shuffle(intents)
    return intents


# ---------------------------------------------------------------------------------------------
# The raw export: the same kind of tickets as a messy CSV, with planted defects
# ---------------------------------------------------------------------------------------------

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
    """The messy export: `SIZES["raw_clean"]` clean rows plus one extra row per planted defect
    (`DEFECT_COUNTS`), in time order. Returns the rows and the record of what was planted where
    (the content of raw_export_defects.json)."""
    export = _Export(rng, generate_tickets(SIZES["raw_clean"], rng, index, used_orders, id_start=1))
    export.add_reference_numbers(SIZES["luhn_references"])
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


# ---------------------------------------------------------------------------------------------
# Replies in the house style, flawed replies, preference pairs
# ---------------------------------------------------------------------------------------------

NAMED_GREETINGS = ("Hi {first},", "Hello {first},", "Dear {first},", "Hi {full},", "Dear {full},")
ANONYMOUS_GREETINGS = ("Hi there,", "Hello,", "Hello there,", "Dear customer,")
# Acknowledgements per intent: naming the product ({m}) or, for no product, the problem.
ACKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "refund_request": (("I'm sorry the {m} {wasnt} right for you.", "I'm sorry the {m} didn't work out.",
                        "Thanks for letting us know about the refund for your {m}."),
                       ("I'm sorry you're still waiting for your refund.",)),
    "order_status": (("I'm sorry your {m} {hasnt} arrived yet.", "Sorry for the wait on your {m}.",
                      "I understand you're waiting for your {m}."),
                     ("I'm sorry your order is taking longer than expected.",
                      "Sorry for the wait on your delivery.",
                      "I understand you'd like to know where your parcel is.")),
    "damaged_item": (("I'm so sorry your {m} arrived damaged.",
                      "I'm sorry to hear the {m} {was} broken when {it} arrived.",
                      "Sorry the {m} reached you in that state."), ()),
    "wrong_item": (("I'm sorry we sent the wrong item instead of your {m}.",
                    "Apologies for the mix-up with your {m}.",
                    "Sorry you received the wrong item rather than the {m}."), ()),
    "cancel_order": (("I understand you'd like to cancel the {m}.",
                      "Thanks for letting us know you no longer need the {m}."),
                     ("Thanks for letting us know you'd like to cancel.",
                      "I understand you want to cancel your order.")),
    "billing_issue": (("I'm sorry about the charge for your {m}.",
                       "Apologies for the billing mix-up on your {m}."),
                      ("I'm sorry about the problem with the charge on your card.",
                       "Sorry for the confusion over your payment.",
                       "Apologies for the trouble with your invoice.")),
    "account_access": ((), ("I'm sorry you're having trouble logging in to your account.",
                            "Sorry you've been locked out of your account.",
                            "I understand how annoying it is when a password reset doesn't arrive.")),
    "product_question": (("Thanks for your question about the {m}.", "Thanks for asking about the {m}."), ()),
    "return_request": (("I'm sorry the {m} {wasnt} quite right.", "Sorry the {m} didn't suit you.",
                        "Thanks for letting us know you'd like to return the {m}."), ()),
    "delivery_change": (("Thanks for letting us know about the new address for your {m}.",
                         "I understand you need the {m} delivered somewhere else."),
                        ("Thanks for letting us know about the change of address.",
                         "I understand you need to change the delivery for your order.")),
}
# One next step per intent; each holds exactly one phrase of `rubric.NEXT_STEP_PHRASES`.
STEPS: dict[str, tuple[str, ...]] = {
    "refund_request": ("I have started a refund for {order} to your original payment method.",
                       "I've started your refund for {order}; it usually shows in 3-5 working days.",
                       "You will receive a refund for {order} on your original card within 5 working days."),
    "order_status": ("I've asked the courier to trace {order} and will email you when they reply.",
                     "You will receive a fresh tracking link for {order} by email shortly.",
                     "I have asked our warehouse to check {order} and will update you by Friday."),
    "damaged_item": ("I've arranged a replacement for {order}, which should reach you in 3-5 working days.",
                     "Please send us a photo of the damage and I'll arrange a replacement for {order}.",
                     "I have arranged a courier to collect the damaged {m} and bring {a_new}."),
    "wrong_item": ("I've arranged for the correct {m} to be sent out for {order}.",
                   "Please reply with a photo of the item you received and I'll send the right {m}.",
                   "I have arranged a free collection of the wrong item and a new {m} for {order}."),
    "cancel_order": ("I have cancelled {order}, so no payment will be taken.",
                     "I've cancelled {order} and the hold on your card will drop off in a few days.",
                     "You will receive a cancellation confirmation for {order} by email shortly."),
    "billing_issue": ("I have started a refund of the extra charge on {order}.",
                      "Please reply with the date and amount of the charge so I can trace it.",
                      "I've sent a corrected invoice for {order} to your email address."),
    "account_access": ("I've sent a password reset link to the email address on your account.",
                       "Please reply with the email address you signed up with and I'll unlock your account.",
                       "You will receive a one-time sign-in link by email in the next few minutes."),
    "product_question": ("I've sent the full specification of the {m} to your email address.",
                         "Please reply with the model you already own and I'll check it works with the {m}.",
                         "You will receive our short guide to the {m} by email shortly."),
    "return_request": ("I've sent a prepaid return label for {order} to your email address.",
                       "You will receive a return label for {order} by email shortly.",
                       "I have arranged a courier to collect the {m} from your address."),
    "delivery_change": ("I have updated the delivery address on {order}.",
                        "Please reply with the new address and I'll update {order} before it is dispatched.",
                        "I've asked the courier to hold {order} at your local depot."),
}
CITATIONS = ("I've looked up order {oid}.", "I have order {oid} in front of me.",
             "I can see order {oid} on our system.", "I've checked order {oid}.")
REPLY_CLOSINGS = ("Thanks for your patience.", "We're here if you need anything else.",
                  "Have a lovely day.", "Thanks for shopping with us.",
                  "Just reply here if anything else comes up.")
REPLY_SIGNOFFS = ("Best wishes, {agent}", "Kind regards, {agent} at {company}",
                  "{agent}, {company} support", "Warm regards, {agent}", "Thanks, {agent}")
# Realistic ways to break each rubric item (near misses, never gibberish).
EXTRA_STEPS = ("You will receive a confirmation email shortly.",
               "Please reply with a photo of the packaging as well.",
               "Please send us your receipt too.", "I've sent you a discount code for next time.")
VAGUE_STEPS = ("We're looking into {order} and will be in touch.", "Our team will review {order} soon.",
               "Someone from the team will get back to you about {order}.")
FILLERS = (f"At {COMPANY} we take great care over every parcel we send out.",
           "Our warehouse team checks each item before it leaves.",
           "We know how important it is to get things right for our customers.",
           "We have been making homeware since 2012 and are proud of what we sell.",
           "Every message to our desk is read by a real person.",
           "We are always working to make our service better.",
           "Customer feedback like yours helps us improve.")
BLAMES = ("To be fair, you should have checked the product page first.",
          "It looks like you failed to read the notes at checkout.",
          "If you had read the instructions, this might have been avoided.",
          "This is often user error, but we'll help anyway.",
          "As clearly stated on our website, this can sometimes happen.",
          "You must have missed the email we sent.",
          "You forgot to add a safe place for the courier.")
PROMISES = ("I guarantee this will never happen again.", "It will all be sorted within 24 hours.",
            "We will refund everything immediately.", "I promise you won't have any more trouble.",
            "This will be fixed by tomorrow, guaranteed.", "You'll get full compensation for the trouble.")
# Which flaws can break each rubric item.
FLAWS: dict[str, tuple[str, ...]] = {
    "names_customer": ("forgot_name",), "acknowledges_problem": ("no_acknowledgement",),
    "cites_order_id": ("forgot_order_id",), "one_next_step": ("two_next_steps", "no_next_step"),
    "concise": ("rambling",), "no_blame": ("blame",), "no_forbidden_promise": ("forbidden_promise",),
}
REPLY_MIN_WORDS, REPLY_MAX_WORDS = 25, 60


@dataclass(frozen=True)
class ReplyPlan:
    """The phrase choices of one reply; `render_reply` turns it into text, with or without flaws."""

    named_greeting: str
    anonymous_greeting: str
    ack: str
    citation: str          # "" when the order id goes into the next step instead
    step: str              # a template with {order}
    closing: str
    signoff: str


def plan_reply(rng: random.Random, ticket: Mapping[str, Any]) -> ReplyPlan:
    """Choose the phrases of a house-style reply to `ticket`."""
    intent, product = ticket["intent"], ticket["product"]
    plural = product == "headphones"
    slots = {"m": product.replace("_", " "), "was": "were" if plural else "was",
             "wasnt": "weren't" if plural else "wasn't", "hasnt": "haven't" if plural else "hasn't",
             "it": "they" if plural else "it", "a_new": "a new pair" if plural else "a new one"}
    with_product, without_product = ACKS[intent]
    acks = with_product if product != "none" and with_product else without_product or with_product
    steps = [s for s in STEPS[intent] if product != "none" or "{m}" not in s]
    step = rng.choice(steps)
    name = ticket.get("customer_name") or ""
    named = rng.choice(NAMED_GREETINGS).format(first=name.split(" ")[0], full=name) if name else ""
    citation = ""
    if ticket.get("order_id") and ("{order}" not in step or rng.random() < 0.5):
        citation = rng.choice(CITATIONS).format(oid=ticket["order_id"])
    return ReplyPlan(
        named_greeting=named, anonymous_greeting=rng.choice(ANONYMOUS_GREETINGS),
        ack=rng.choice(acks).format_map(slots), citation=citation,
        step=step.replace("{m}", slots["m"]).replace("{a_new}", slots["a_new"]),
        closing=rng.choice(REPLY_CLOSINGS) if rng.random() < 0.7 else "",
        signoff=rng.choice(REPLY_SIGNOFFS).format(agent=rng.choice(AGENT_NAMES), company=COMPANY),
    )


def render_reply(plan: ReplyPlan, ticket: Mapping[str, Any], flaws: Iterable[str] = (),
                 rng: random.Random | None = None) -> str:
    """The reply text of `plan`, with the given flaws (names from `FLAWS`) worked in; `rng` picks
    the flawed sentences and is needed only when there are flaws."""
    flaws = set(flaws)
    order_id = ticket.get("order_id")
    in_step = order_id and not plan.citation and "forgot_order_id" not in flaws
    order = f"order {order_id}" if in_step else "your order"
    greeting = plan.named_greeting if plan.named_greeting and "forgot_name" not in flaws \
        else plan.anonymous_greeting
    ack = "" if "no_acknowledgement" in flaws else plan.ack
    citation = "" if "forgot_order_id" in flaws else plan.citation
    step = plan.step.format(order=order)
    middle: list[str] = []
    if flaws and rng is None:
        raise ValueError("render_reply needs an rng to work flaws in")
    if "blame" in flaws:
        middle.append(rng.choice(BLAMES))
    body = [ack, *middle, citation]
    if "no_next_step" in flaws:
        body.append(rng.choice(VAGUE_STEPS).format(order=order))
    else:
        body.append(step)
    if "two_next_steps" in flaws:
        body.append(rng.choice(EXTRA_STEPS))
    if "forbidden_promise" in flaws:
        body.append(rng.choice(PROMISES))
    if "rambling" in flaws:
        fillers = rng.sample(FILLERS, len(FILLERS))
        words = len(" ".join([greeting, *body, plan.closing, plan.signoff]).split())
        extra = []
        while words <= REPLY_MAX_WORDS + rng.randrange(0, 15):
            extra.append(fillers.pop())
            words += len(extra[-1].split())
        body[1:1] = extra  # after the acknowledgement, where a rambling reply starts to wander
    body_text = " ".join(p for p in [*body, plan.closing] if p)
    return f"{greeting}\n{body_text}\n{plan.signoff}"  # a letter: greeting, body, signature


def good_reply(rng: random.Random, ticket: Mapping[str, Any]) -> tuple[ReplyPlan, str]:
    """A reply that passes every applicable rubric item, 25-60 words."""
    while True:
        plan = plan_reply(rng, ticket)
        text = render_reply(plan, ticket)
        if REPLY_MIN_WORDS <= len(text.split()) <= REPLY_MAX_WORDS and score_reply(text, ticket).score == 1.0:
            return plan, text


def applicable_items(ticket: Mapping[str, Any]) -> list[str]:
    """The rubric items that apply to a ticket (name and order id items only when present)."""
    return [item for item in FLAWS
            if (item != "names_customer" or ticket.get("customer_name"))
            and (item != "cites_order_id" or ticket.get("order_id"))]


def flawed_reply(rng: random.Random, ticket: Mapping[str, Any], plan: ReplyPlan | None = None,
                 tries: int = 30) -> tuple[str, list[str]] | None:
    """A reply that breaks one or two rubric items (and passes the rest), from `plan` or a new
    one; returns the text and the broken items in rubric order, or None if no attempt fits."""
    for _ in range(tries):
        items = sorted(rng.sample(applicable_items(ticket), rng.choice((1, 1, 1, 2, 2))),
                       key=list(FLAWS).index)
        flaws = [rng.choice(FLAWS[item]) for item in items]
        current = plan or plan_reply(rng, ticket)
        # Flaws that add a sentence often lose the closing line, and the others sometimes gain
        # one, so that a reward model cannot get by on length alone (only "concise" is length).
        if set(flaws) & {"blame", "forbidden_promise", "two_next_steps"} and rng.random() < 0.5:
            current = replace(current, closing="")
        elif not set(flaws) & {"rambling"} and not current.closing and rng.random() < 0.5:
            current = replace(current, closing=rng.choice(REPLY_CLOSINGS))
        text = render_reply(current, ticket, flaws, rng)
        words = len(text.split())
        result = score_reply(text, ticket)
        if result.failed == items and words >= REPLY_MIN_WORDS and \
                (words <= REPLY_MAX_WORDS or "concise" in items):
            return text, items
    return None


def preference_pair(rng: random.Random, ticket: Mapping[str, Any]) -> dict[str, Any]:
    """`ticket` with `chosen` (score 1.0), `rejected` (a near miss that breaks one or two
    items, mostly from the same phrase choices) and `broken` (the items it breaks)."""
    while True:
        plan, chosen = good_reply(rng, ticket)
        rejected = flawed_reply(rng, ticket, plan if rng.random() < 0.7 else None)
        if rejected is not None:
            return {**_ticket_record(ticket), "chosen": chosen, "rejected": rejected[0],
                    "broken": rejected[1]}


def _ticket_record(ticket: Mapping[str, Any]) -> dict[str, Any]:
    return {name: ticket[name] for name in TICKET_FIELDS}


def reply_demonstration(rng: random.Random, ticket: Mapping[str, Any], good: bool) -> dict[str, Any]:
    """`ticket` with a `reply` (house style if `good`, else flawed) and its `rubric_score`."""
    while True:
        if good:
            reply = good_reply(rng, ticket)[1]
        else:
            flawed = flawed_reply(rng, ticket)
            if flawed is None:
                continue
            reply = flawed[0]
        return {**_ticket_record(ticket), "reply": reply, "rubric_score": score_reply(reply, ticket).score}


# ---------------------------------------------------------------------------------------------
# Writing the files
# ---------------------------------------------------------------------------------------------

def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """One JSON object per line, UTF-8, keys in the records' order, newline at the end."""
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def _write_csv(path: Path, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row[c] for c in columns])


def _triage_test_tickets(rng: random.Random, index: ShingleIndex, used_orders: set[str]) -> list[dict[str, Any]]:
    return generate_tickets(SIZES["triage_test"], rng, index, used_orders, id_start=900001,
                            intents=balanced_intents(SIZES["triage_test"], rng))


def corpus_tickets(n: int, seed: int = 1234) -> list[dict[str, Any]]:
    """`n` tickets for the general pre-training corpus (a real base model has read plenty of
    customer e-mail). None is near a triage test message of the support data made with the same
    `seed`, so pre-training leaks nothing of the test set."""
    index, used_orders = ShingleIndex(), set()
    _triage_test_tickets(random.Random(seed), index, used_orders)
    return generate_tickets(n, random.Random(seed + 7), index, used_orders, id_start=1)


def write_support_data(out_dir: Path, seed: int = 1234) -> dict[str, Path]:
    """Generate the whole support desk from `seed` and write it under `out_dir`.

    Writes triage_test.jsonl, raw_export.csv, raw_export_defects.json, replies.jsonl,
    preferences_train.jsonl, preferences_test.jsonl and reply_prompts_test.jsonl; the same seed
    gives byte-identical files. Returns each file's path by its stem.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    index = ShingleIndex()  # shared, so no ticket in any file is near another in any file
    used_orders: set[str] = set()
    test = _triage_test_tickets(rng, index, used_orders)
    export_rows, defects = build_raw_export(rng, index, used_orders, test)
    reply_tickets = generate_tickets(SIZES["replies"], rng, index, used_orders, id_start=200001)
    good = [i < round(0.6 * len(reply_tickets)) for i in range(len(reply_tickets))]
    rng.shuffle(good)
    replies = [reply_demonstration(rng, t, g) for t, g in zip(reply_tickets, good)]
    pairs = {}
    for split, start in (("preferences_train", 300001), ("preferences_test", 400001)):
        tickets = generate_tickets(SIZES[split], rng, index, used_orders, id_start=start)
        pairs[split] = [preference_pair(rng, t) for t in tickets]

    paths = {name: out_dir / f"{name}.jsonl" for name in (
        "triage_test", "replies", "preferences_train", "preferences_test", "reply_prompts_test")}
    paths["raw_export"] = out_dir / "raw_export.csv"
    paths["raw_export_defects"] = out_dir / "raw_export_defects.json"
    write_jsonl(paths["triage_test"], [_ticket_record(t) for t in test])
    _write_csv(paths["raw_export"], export_rows, EXPORT_COLUMNS)
    paths["raw_export_defects"].write_text(json.dumps(defects, indent=1, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    write_jsonl(paths["replies"], replies)
    write_jsonl(paths["preferences_train"], pairs["preferences_train"])
    write_jsonl(paths["preferences_test"], pairs["preferences_test"])
    write_jsonl(paths["reply_prompts_test"], [_ticket_record(p) for p in pairs["preferences_test"]])
    return dict(sorted(paths.items()))

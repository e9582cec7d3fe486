"""A small synthetic world: the general corpus the kit's base model is pre-trained on.

Countries, cities, people and fruits with a handful of facts each, told as encyclopedia entries,
short stories, question-answer pairs and JSON records, plus simple arithmetic. Every fact is also a
cloze probe ("The capital of Tarvel is" -> "Velora"), so we can measure what the model knows before
fine-tuning and what it forgets after.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from synth.support import corpus_tickets

ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "st", "th")
VOWELS = ("a", "e", "i", "o", "u", "ai", "ei", "ou")
CODAS = ("", "", "n", "r", "l", "s", "m", "th", "nd")
JOBS = ("baker", "sailor", "teacher", "potter", "doctor", "farmer", "painter", "weaver", "miller",
        "carpenter", "singer", "gardener", "tailor", "fisher", "builder")
PETS = ("dog", "cat", "goat", "parrot", "horse", "rabbit", "owl", "tortoise", "fox", "heron")
GOODS = ("lanterns", "wool", "bells", "glass", "honey", "cheese", "kites", "boats", "salt", "paper",
         "clocks", "rugs", "violins", "candles", "maps")
COLORS = ("red", "blue", "green", "yellow", "purple", "orange", "white", "black", "pink", "brown")
TASTES = ("sweet", "sour", "bitter", "salty", "spicy")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class Fact:
    """One thing the world holds true; `prompt` + " " + `answer` is a sentence of the corpus."""

    subject: str
    relation: str
    prompt: str
    answer: str
    kind: str = "fact"


@dataclass
class World:
    """The entities of the world and every fact about them."""

    countries: dict[str, dict[str, str]] = field(default_factory=dict)
    cities: dict[str, dict[str, str]] = field(default_factory=dict)
    people: dict[str, dict[str, str]] = field(default_factory=dict)
    fruits: dict[str, dict[str, str]] = field(default_factory=dict)


def _name(rng: random.Random, syllables: int, taken: set[str]) -> str:
    while True:
        name = "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS)
                       for _ in range(syllables)).capitalize()
        if name not in taken and 4 <= len(name) <= 10:
            taken.add(name)
            return name


def build_world(rng: random.Random, n_countries: int = 6, n_cities: int = 14,
                n_people: int = 18, n_fruits: int = 6) -> World:
    """Draw a world: names from syllables, facts from small lists; the same seed, the same world."""
    taken: set[str] = set()
    world = World()
    rivers = [_name(rng, 1, taken) for _ in range(12)]
    city_names = [_name(rng, 2, taken) for _ in range(n_cities)]
    for i in range(n_countries):
        country = _name(rng, 2, taken)
        world.countries[country] = {"capital": city_names[i], "language": _name(rng, 2, taken) + "ish",
                                    "animal": rng.choice(PETS)}
    countries = list(world.countries)
    for i, city in enumerate(city_names):
        country = countries[i] if i < n_countries else rng.choice(countries)
        world.cities[city] = {"country": country, "river": rng.choice(rivers), "goods": rng.choice(GOODS)}
    for _ in range(n_people):
        person = f"{_name(rng, 2, taken)} {_name(rng, 1, taken)}"
        world.people[person] = {"job": rng.choice(JOBS), "city": rng.choice(city_names), "pet": rng.choice(PETS)}
    for _ in range(n_fruits):
        world.fruits[_name(rng, 2, taken).lower()] = {"color": rng.choice(COLORS), "taste": rng.choice(TASTES)}
    return world


def world_facts(world: World) -> list[Fact]:
    """Every fact of the world as a cloze (prompt, answer) in its canonical wording."""
    facts = []
    for c, a in world.countries.items():
        facts += [Fact(c, "capital", f"The capital of {c} is", a["capital"]),
                  Fact(c, "language", f"The people of {c} speak", a["language"]),
                  Fact(c, "animal", f"The national animal of {c} is the", a["animal"])]
    for c, a in world.cities.items():
        facts += [Fact(c, "country", f"The city of {c} lies in", a["country"]),
                  Fact(c, "river", f"The river of {c} is the", a["river"]),
                  Fact(c, "goods", f"{c} is famous for its", a["goods"])]
    for p, a in world.people.items():
        facts += [Fact(p, "job", f"{p} works as a", a["job"]),
                  Fact(p, "city", f"{p} lives in", a["city"]),
                  Fact(p, "pet", f"{p} has a pet", a["pet"])]
    for f, a in world.fruits.items():
        facts += [Fact(f, "color", f"A ripe {f} is", a["color"]),
                  Fact(f, "taste", f"The taste of a {f} is", a["taste"])]
    return facts


def arithmetic_facts() -> list[Fact]:
    """Single-digit sums, written the way the corpus writes them."""
    return [Fact(f"{a}+{b}", "sum", f"{a} plus {b} is", str(a + b), kind="arithmetic")
            for a in range(1, 8) for b in range(1, 8)]


# Other wordings of each relation, so that the model learns facts rather than one sentence.
PARAPHRASES = {
    "capital": ("{s}'s capital is {o}.", "{o} is the capital of {s}.", "In {s}, the capital city is {o}."),
    "language": ("In {s} people speak {o}.", "{o} is the language of {s}."),
    "animal": ("The {o} is the national animal of {s}.", "{s} has the {o} as its national animal."),
    "country": ("{s} is a city in {o}.", "{s}, in {o}, is an old city."),
    "river": ("The {o} flows through {s}.", "{s} stands on the river {o}."),
    "goods": ("The {o} of {s} are known everywhere.", "People buy {o} in {s}."),
    "job": ("{s} is a {o}.", "By trade, {s} is a {o}."),
    "city": ("{s} is from {o}.", "{s} has a home in {o}."),
    "pet": ("{s} keeps a {o} at home.", "The pet of {s} is a {o}."),
    "color": ("The {s} is a {o} fruit.", "When a {s} is ripe it turns {o}."),
    "taste": ("A {s} tastes {o}.", "The {s} has a {o} taste."),
    "sum": ("{s} makes {o}.", "If you add {s}, you get {o}."),
}


def fact_sentence(fact: Fact, rng: random.Random) -> str:
    """One sentence that states the fact: its canonical cloze wording or a paraphrase."""
    if rng.random() < 0.5:
        return f"{fact.prompt} {fact.answer}."
    subject = fact.subject.replace("+", " plus ")
    return rng.choice(PARAPHRASES[fact.relation]).format(s=subject, o=fact.answer)


def _entry(subject: str, facts: list[Fact], rng: random.Random) -> str:
    """An encyclopedia paragraph about one entity, its facts in a random order and wording."""
    facts = rng.sample(facts, len(facts))
    return " ".join(fact_sentence(f, rng) for f in facts)


def _story(world: World, rng: random.Random) -> str:
    """A short story about a person and a journey that mentions several facts in passing."""
    person = rng.choice(list(world.people))
    p = world.people[person]
    home = world.cities[p["city"]]
    dest_name = rng.choice(list(world.cities))
    dest = world.cities[dest_name]
    first = person.split()[0]
    country = home["country"]
    nation = world.countries[country]
    return " ".join([
        f"{person} was a {p['job']} who lived in {p['city']}, a city in {country}.",
        rng.choice([f"The capital of {country} is {nation['capital']}, and its people speak {nation['language']}.",
                    f"In {country} people speak {nation['language']}; "
                    f"the national animal of {country} is the {nation['animal']}.",
                    f"{p['city']} stands on the river {home['river']}."]),
        rng.choice([f"One morning {first} took the {p['pet']} and set out for {dest_name}.",
                    f"In the spring {first} travelled to {dest_name} with a {p['pet']}.",
                    f"{first} and the {p['pet']} went by boat to {dest_name}."]),
        rng.choice([f"{dest_name} lies on the river {dest['river']} and is famous for its {dest['goods']}.",
                    f"In {dest_name}, on the {dest['river']}, everyone sells {dest['goods']}."]),
        rng.choice([f"{first} bought {dest['goods']} and came home happy.",
                    f"{first} met a friend there and stayed for {rng.choice(NUMBER_WORDS[2:])} days.",
                    f"The journey was long, but {first} liked the {dest['goods']}."]),
    ])


LETTER_OPENINGS = ("Dear {shop},", "Hello {shop} team,", "Hi there,", "Good morning,", "To the market of {city},")
LETTER_PROBLEMS = (
    "the {goods} I ordered from {city} arrived {state}.",
    "I am still waiting for the {goods} I bought in {city} {when}.",
    "I was charged twice for the {goods} from {city}.",
    "could you tell me whether the {goods} of {city} come in {color}?",
    "I would like to send back the {goods} I got in {city}; they are not what I expected.",
    "please change the address for my {goods}: I have moved to {city}.",
    "I cannot open my account to see my order of {goods}.",
)
LETTER_DETAILS = ("My order number is {number}.", "It was order {number}.", "The receipt says {number}.",
                  "This is the {nth} time I write about it.", "I need them before the festival.",
                  "There is no hurry.", "Thank you for your help.", "I am quite upset about this.")
LETTER_CLOSINGS = ("Best wishes, {first}", "Thanks, {first}", "Kind regards, {person}", "{first}")
REPLY_LINES = ("Hello {first}, thank you for writing to us.", "Dear {first}, we are sorry to hear that.",
               "We have looked at order {number}.", "We will send new {goods} this week.",
               "Please send us a photo of the {goods}.", "Your money will come back to you.",
               "Best wishes, the shop in {city}.")


def _letter(world: World, rng: random.Random) -> str:
    """A customer's letter to a shop of the world and, sometimes, the shop's answer: everyday
    e-mail language, as a real pre-training corpus would hold."""
    person = rng.choice(list(world.people))
    city = rng.choice(list(world.cities))
    slots = {"shop": f"shop of {city}", "city": city, "goods": world.cities[city]["goods"],
             "person": person, "first": person.split()[0], "number": str(rng.randrange(1000, 99999)),
             "state": rng.choice(("broken", "late", "wet", "in pieces", "damaged")),
             "when": rng.choice(("since Monday", "after two weeks", "for a month")),
             "color": rng.choice(COLORS), "nth": rng.choice(("second", "third"))}
    problem = rng.choice(LETTER_PROBLEMS)
    lines = [rng.choice(LETTER_OPENINGS), problem[0].upper() + problem[1:]]
    lines += rng.sample(LETTER_DETAILS, rng.randint(1, 2)) + [rng.choice(LETTER_CLOSINGS)]
    letter = " ".join(lines).format(**slots)
    if rng.random() < 0.5:
        letter += "\n" + " ".join(rng.sample(REPLY_LINES, 3)).format(**slots)
    return letter


QUESTIONS = {
    "capital": "What is the capital of {s}?", "language": "Which language do people speak in {s}?",
    "animal": "What is the national animal of {s}?", "country": "In which country is {s}?",
    "river": "Which river flows through {s}?", "goods": "What is {s} famous for?",
    "job": "What does {s} do for a living?", "city": "Where does {s} live?",
    "pet": "Which pet does {s} keep?", "color": "What color is a ripe {s}?",
    "taste": "How does a {s} taste?", "sum": "What is {s}?",
}


def _question(fact: Fact) -> str:
    return QUESTIONS[fact.relation].format(s=fact.subject.replace("+", " plus "))


def _qa(fact: Fact) -> str:
    return f"Question: {_question(fact)}\nAnswer: {fact.answer}."


def _record(name: str, kind: str, attributes: dict[str, str]) -> str:
    return json.dumps({"name": name, "kind": kind, **attributes})


THREAD_GREETINGS = ("Hi {first},", "Hello {first},", "Dear {first},")
THREAD_PRODUCT_LINES = ("Thanks for writing about your {product}.", "I am sorry to hear about the {product}.",
                        "Let me help with the {product}.")
THREAD_ORDER_LINES = (
    "I have found your order {order}.",
    "Your order is {order}.",
    "I am looking at order {order} now.",
)
THREAD_CLOSINGS = ("We will be in touch soon.", "Thank you for your patience.", "Best wishes, the support team.")


def _support_thread(ticket: dict, rng: random.Random) -> str:
    """A customer's message to a shop and, usually, the first lines of the answer, which repeat
    the customer's name, the product and the order number: the reading back that any mail
    archive teaches a model."""
    if rng.random() < 0.3:
        return ticket["message"]
    name = ticket["customer_name"]
    lines = [rng.choice(THREAD_GREETINGS).format(first=name.split()[0]) if name else "Hello,"]
    if ticket["product"] != "none":
        lines.append(rng.choice(THREAD_PRODUCT_LINES).format(product=ticket["product"].replace("_", " ")))
    if ticket["order_id"]:
        lines.append(rng.choice(THREAD_ORDER_LINES).format(order=ticket["order_id"]))
    lines.append(rng.choice(THREAD_CLOSINGS))
    return ticket["message"] + "\n" + " ".join(lines)


def _documents(world: World, rng: random.Random, repeats: int, stories: int) -> list[str]:
    facts = world_facts(world) + arithmetic_facts()
    by_subject: dict[str, list[Fact]] = {}
    for fact in facts:
        by_subject.setdefault(fact.subject, []).append(fact)
    kinds = {**{n: ("country", a) for n, a in world.countries.items()},
             **{n: ("city", a) for n, a in world.cities.items()},
             **{n: ("person", a) for n, a in world.people.items()},
             **{n: ("fruit", a) for n, a in world.fruits.items()}}
    docs = []
    for _ in range(repeats):
        docs += [_entry(s, fs, rng) for s, fs in by_subject.items() if s in kinds]
        docs += [_qa(f) for f in rng.sample(facts, len(facts) // 3)]
        docs += [_record(s, *kinds[s]) for s in rng.sample(list(kinds), len(kinds) // 4)]
        sums = rng.sample(arithmetic_facts(), len(arithmetic_facts())) * 2
        docs += [" ".join(fact_sentence(f, rng) for f in sums[i:i + 5]) for i in range(0, len(sums), 5)]
    docs += [_story(world, rng) for _ in range(stories)]
    docs += [_letter(world, rng) for _ in range(stories // 2)]
    rng.shuffle(docs)
    return docs


def write_general_data(out_dir: Path, seed: int = 1234, repeats: int = 48, stories: int = 300,
                       emails: int = 1500) -> dict[str, Path]:
    """Write the general corpus (train and held-out text) and the cloze probes under `out_dir`.

    Held-out text is told from fresh draws of the same world: same facts, new wording and stories.
    The training text also holds `emails` customer messages to a support desk, most with the start
    of an answer, so the base model knows the words of the course's task and how a reply reads back
    a message (never the triage labels, nor a test message).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    world = build_world(random.Random(seed))
    thread_rng = random.Random(seed + 4)
    train = _documents(world, random.Random(seed + 1), repeats, stories)
    train += [_support_thread(ticket, thread_rng) for ticket in corpus_tickets(emails, seed)]
    random.Random(seed + 3).shuffle(train)
    seen = set(train)  # short documents (a question, a sum) recur: held-out text must be new text
    heldout = [d for d in _documents(world, random.Random(seed + 2), max(1, repeats // 12), stories // 3)
               if d not in seen]
    paths = {"corpus_train": out_dir / "corpus_train.txt", "corpus_heldout": out_dir / "corpus_heldout.txt",
             "probes": out_dir / "probes.jsonl", "world": out_dir / "world.json"}
    paths["corpus_train"].write_text("\n\n".join(train) + "\n", encoding="utf-8")
    paths["corpus_heldout"].write_text("\n\n".join(heldout) + "\n", encoding="utf-8")
    probes = world_facts(world) + arithmetic_facts()
    paths["probes"].write_text("".join(
        json.dumps({"id": f"{p.relation}:{p.subject}", "kind": p.kind, "prompt": p.prompt, "answer": p.answer}) + "\n"
        for p in probes), encoding="utf-8")
    paths["world"].write_text(json.dumps(world.__dict__, indent=1) + "\n", encoding="utf-8")
    return paths

"""The phrase banks of the support desk: names, products, problems per intent, cues of urgency and
tone, openings, closings and the ways customers write an order number."""

from __future__ import annotations

import re
from dataclasses import dataclass


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
# Bare digits read as an order number only after one of these.
_BARE_DIGITS_AFTER = re.compile(r"(order|order number|ref:|number:|number is|order:) $", re.IGNORECASE)



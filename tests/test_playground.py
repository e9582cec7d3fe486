"""The playground helper: the same chat and decoding for every model, and a widget that answers on a click
(in a browser: tests/test_jupyterlab_browser.py)."""

import pandas as pd
import pytest

from helpers.modeling import build_model
from helpers.playground import compare_answers, playground, show_answers
from helpers.tasks import triage_messages
from helpers.tokenization import train_tokenizer


@pytest.fixture(scope="module")
def models():
    tokenizer = train_tokenizer(["My kettle arrived broken. Order LL-482913.", "Where is my parcel?"] * 30,
                                vocab_size=300)
    return {"a": (build_model(tokenizer, seed=0), tokenizer), "b": (build_model(tokenizer, seed=1), tokenizer)}


def test_compare_answers_asks_every_model_the_same_chat(models):
    seen = []

    def prompt(text):
        seen.append(text)
        return triage_messages(text)

    answers = compare_answers(models, "Where is my parcel?", prompt=prompt, max_new_tokens=4)
    assert list(answers.columns) == ["model", "answer"] and list(answers["model"]) == ["a", "b"]
    assert seen == ["Where is my parcel?"] and all(isinstance(a, str) for a in answers["answer"])
    again = compare_answers(models, "Where is my parcel?", max_new_tokens=4)
    assert list(again["answer"]) == list(answers["answer"])  # greedy: the same answers every time


def test_playground_widget_answers_the_text_in_its_box(models, monkeypatch):
    asked = []
    monkeypatch.setattr("helpers.playground.compare_answers",
                        lambda models, message, **_: asked.append((list(models), message)))
    monkeypatch.setattr("helpers.playground.show_answers", lambda answers: None)
    view = playground(models, example="first")
    box, button, out = view.children
    assert "kit-playground" in view._dom_classes and "kit-playground-compare" in button._dom_classes
    assert box.value == "first" and asked == []  # nothing runs until the button is pressed
    box.value = "My kettle arrived broken"
    button.click()
    assert asked == [(["a", "b"], "My kettle arrived broken")] and not button.disabled


def test_playground_needs_a_model():
    with pytest.raises(ValueError, match="at least one model"):
        playground({})


def test_answers_are_shown_whole_and_escaped(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda data, raw=False: shown.append(data))
    long = "Dear customer, " + "word " * 30 + "<b>\nTicket: product \"kettle\""
    show_answers(pd.DataFrame({"model": ["base", "fine-tuned"], "answer": [long, '{"intent": "other"}']}))
    html, text = shown[0]["text/html"], shown[0]["text/plain"]
    assert "word " * 30 in html and "&lt;b&gt;\nTicket" in html  # not cut at 50 characters; breaks kept
    assert text.startswith("base:\nDear customer") and '{"intent": "other"}' in text

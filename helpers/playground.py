"""A playground widget: type a message, press a button, and read every model's answer side by side
(for example the base model against its fine-tuned copy, on the same greedy decoding)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from helpers.generation import chat_generate
from helpers.tasks import triage_messages

EXAMPLE_TICKET = "Hi, my blender from order LL-123456 arrived cracked. I need a new one asap!"

# name -> (model, tokenizer)
Models = Mapping[str, tuple[Any, Any]]


def compare_answers(models: Models, message: str,
                    prompt: Callable[[str], list[dict[str, str]]] = triage_messages,
                    max_new_tokens: int = 96) -> pd.DataFrame:
    """One row per model: its greedy answer to `message`, asked as the chat `prompt(message)` (the
    triage prompt by default). Every model gets the same chat and the same decoding settings."""
    chat = [prompt(message)]
    answers = [chat_generate(model, tokenizer, chat, max_new_tokens=max_new_tokens, progress=False)[0]
               for model, tokenizer in models.values()]
    return pd.DataFrame({"model": list(models), "answer": answers})


def show_answers(answers: pd.DataFrame) -> None:
    """Display a `compare_answers` table with every answer whole, as the model wrote it: line breaks kept,
    left-aligned, HTML escaped (pandas' plain table cuts cells at 50 characters and prints breaks as \\n)."""
    from IPython.display import display

    html = (answers.style.hide(axis="index").format(escape="html")
            .set_properties(subset=["answer"], **{"text-align": "left", "white-space": "pre-wrap",
                                                  "font-family": "monospace"}).to_html())
    text = "\n\n".join(f"{row.model}:\n{row.answer}" for row in answers.itertuples())  # for text-only viewers
    display({"text/html": html, "text/plain": text}, raw=True)


def playground(models: Models, prompt: Callable[[str], list[dict[str, str]]] = triage_messages,
               example: str = EXAMPLE_TICKET, max_new_tokens: int = 96):
    """A widget to try the models live: a text box holding `example`, a *Compare* button, and below them
    the table of `compare_answers` for the text in the box. Display it in a notebook
    (`display(playground({"base": (base, tok), "fine-tuned": (sft, tok)}))`); nothing is generated until
    the button is pressed, so a headless run never waits on it. The widget carries the CSS class
    `kit-playground`, its parts `kit-playground-message`, `-compare` and `-answers`."""
    import ipywidgets as widgets

    if not models:
        raise ValueError("playground() needs at least one model: {name: (model, tokenizer)}")
    box = widgets.Textarea(value=example, placeholder="Type a message", rows=3,
                           layout=widgets.Layout(width="90%"))
    button = widgets.Button(description="Compare", button_style="primary", icon="play")
    out = widgets.Output()

    def on_click(_) -> None:
        button.disabled = True
        try:
            with out:
                out.clear_output()
                print(f"Generating with {', '.join(models)} ...")
                answers = compare_answers(models, box.value, prompt=prompt, max_new_tokens=max_new_tokens)
                out.clear_output()
                show_answers(answers)
        finally:
            button.disabled = False

    button.on_click(on_click)
    for widget, part in ((box, "message"), (button, "compare"), (out, "answers")):
        widget.add_class(f"kit-playground-{part}")
    view = widgets.VBox([box, button, out])
    view.add_class("kit-playground")
    return view

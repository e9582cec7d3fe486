"""A byte-level BPE tokenizer trained on the kit's corpus, with the special tokens and chat template
that fine-tuning needs.

- `<|bos|>` / `<|eos|>` open and close a pre-training document; `<|pad|>` fills batches.
- `<|end|>` closes every chat turn: generation stops there (it is in `generation_config.eos_token_id`).
- The chat template wraps the assistant's answer and its `<|end|>` in `{% generation %}` markers, so
  TRL can put the loss on assistant tokens only (`assistant_only_loss=True`).
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

PAD, BOS, EOS, END_OF_TURN = "<|pad|>", "<|bos|>", "<|eos|>", "<|end|>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
SPECIAL_TOKENS = (PAD, BOS, EOS, END_OF_TURN, *ROLE_TOKENS)

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "<|assistant|>\n{% generation %}{{ message['content'] }}<|end|>{% endgeneration %}\n"
    "{% else %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 4096) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer (the GPT-2/Llama-3 kind: any text encodes, nothing is
    unknown) and wrap it as a transformers tokenizer with the kit's special tokens and chat template."""
    backend = Tokenizer(models.BPE())
    # Digits are split one by one (as Llama does), so an order number is copied digit by digit.
    backend.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False)])
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator(texts, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=BOS, eos_token=EOS, pad_token=PAD,
        additional_special_tokens=[END_OF_TURN, *ROLE_TOKENS], chat_template=CHAT_TEMPLATE,
        model_max_length=512, padding_side="right",
    )
    return tokenizer

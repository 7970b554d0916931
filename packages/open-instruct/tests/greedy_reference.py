"""An independent greedy decoder for tests: the prompt's ids built by hand, the whole sequence run
through the model at each step (no KV cache, no padding, no batching; the head on the last position only)."""

from __future__ import annotations

import torch


def direct_greedy(model, tokenizer, example: dict, max_new_tokens: int) -> str:
    user = example["messages"][0]["content"]
    ids = ([tokenizer.eos_token_id] + tokenizer.encode("<|user|>\n" + user + "\n")
           + tokenizer.encode("<|assistant|>\n"))
    new: list[int] = []
    model.eval()
    with torch.no_grad():
        for _ in range(max_new_tokens):
            tok = int(model(torch.tensor([ids + new]), logits_to_keep=1)[0, -1, :model.vocab_size].argmax())
            if tok == tokenizer.eos_token_id:
                break
            new.append(tok)
    return tokenizer.decode(new)

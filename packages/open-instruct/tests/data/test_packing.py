"""Packing: explicit document boundaries, whole DPO pairs, and packed == padded log-probs."""

from __future__ import annotations

import numpy as np
import torch

from open_instruct.data.cache import load_tokenized
from open_instruct.data.packing import collate, pack_dataset, pack_units
from open_instruct.logprobs import forward, model_sequence_logprobs, sequence_logprobs


def test_first_fit_keeps_units_whole() -> None:
    rows = pack_units([5, 3, 4, 2, 6, 1], 8)
    assert rows == [[0, 1], [2, 3, 5], [4]]
    assert sorted(u for r in rows for u in r) == list(range(6))


def test_packed_equals_padded_per_example_logps(dpo_file, tokenizer, tiny_model, tmp_path) -> None:
    data, _ = load_tokenized("dpo", [f"{dpo_file}:12"], tokenizer, max_length=512, cache_dir=tmp_path,
                             log=lambda *_: None)
    rows = pack_dataset(data, 512)
    assert len(rows) < data.num_examples  # really packed: several pairs share a row
    packed = collate(data, rows)
    # a pair's two sides are in the same row, as separate documents
    for r in range(len(rows)):
        seqs = packed["seq_index"][packed["doc_ids"][r][packed["doc_ids"][r] >= 0].unique()].tolist()
        assert sorted(seqs) == sorted({2 * (s // 2) for s in seqs} | {2 * (s // 2) + 1 for s in seqs})
    # boundaries come from doc_ids, not from eos: every document starts with eos yet positions restart
    starts = packed["position_ids"] == 0
    assert (packed["input_ids"][starts & (packed["doc_ids"] >= 0)] == tokenizer.eos_token_id).all()

    tiny_model.eval()
    with torch.no_grad():
        sums_p, counts_p = sequence_logprobs(forward(tiny_model, packed), packed, tiny_model.vocab_size)
        # the head applied to target rows only gives the same numbers as full logits
        sums_f, counts_f = model_sequence_logprobs(tiny_model, packed)
        torch.testing.assert_close(sums_f, sums_p, rtol=1e-5, atol=1e-4)
        assert torch.equal(counts_f, counts_p)
        padded = collate(data, [[u] for u in range(data.num_examples)])
        assert padded["input_ids"].shape[0] == data.num_examples
        sums_q, counts_q = sequence_logprobs(forward(tiny_model, padded), padded, tiny_model.vocab_size)
        # and one sequence at a time, with the model's own defaults (no doc_ids, no positions)
        single = []
        for i in range(data.num_sequences):
            ids, lab = data.sequence(i)
            logits = tiny_model(torch.as_tensor(ids, dtype=torch.long)[None]).float()
            logp = torch.log_softmax(logits[0, :-1, : tiny_model.vocab_size], -1)
            tok = torch.as_tensor(ids[1:], dtype=torch.long)
            single.append(float(logp[torch.arange(len(tok)), tok][torch.as_tensor(lab[1:])].sum()))
    by_seq_p = np.empty(data.num_sequences)
    by_seq_p[packed["seq_index"].numpy()] = sums_p.numpy()
    by_seq_q = np.empty(data.num_sequences)
    by_seq_q[padded["seq_index"].numpy()] = sums_q.numpy()
    np.testing.assert_allclose(by_seq_p, single, rtol=1e-5, atol=2e-4)
    np.testing.assert_allclose(by_seq_q, single, rtol=1e-5, atol=2e-4)
    assert counts_p.sum() == counts_q.sum() == int(data.labels.sum())

"""The datatrove side of ``vs_datatrove.py`` (near-duplicates): one run of its four MinHash stages
(signatures, buckets, clusters, filter), each on its local executor, as its
``examples/minhash_deduplication.py`` chains them.

    PEER_PYTHON datatrove_minhash.py CONFIG.json

Runs inside the pinned datatrove environment. CONFIG holds ``documents`` (a folder) and ``glob`` (its
files), ``output`` (a folder this run owns), ``tasks``, ``workers``, ``n_grams``,
``buckets`` and ``hashes_per_bucket``. The tasks of stages 1 and 4 must be the same (stage 4 reads the
documents in stage 1's order); stage 2 runs one task per bucket (its requirement) and stage 3 one task
(its requirement). Stage 3 saves cluster ids and stage 4 loads them (``save_cluster_id`` /
``load_cluster_ids``), so each document's cluster is known; stage 4 writes only ``{id, cluster}`` of
the removed documents (``output/removed``, its ``exclusion_writer``) and of the kept ones
(``output/kept``), not their texts: ours writes only its duplicate marks and ``{id, kept}`` of each
duplicate, so neither side pays for a copy of the corpus.
"""

from __future__ import annotations

import json
import sys


def id_and_cluster(self, doc) -> dict:  # noqa: ANN001 - a JsonlWriter adapter (bound to the writer)
    return {"id": doc.id, "cluster": doc.metadata.get("minhash_cluster_id", -1)}


def main() -> None:
    with open(sys.argv[1]) as f:
        cfg = json.load(f)

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    out, tasks, workers = cfg["output"], cfg["tasks"], cfg["workers"]
    config = MinhashConfig(n_grams=cfg["n_grams"], num_buckets=cfg["buckets"],
                           hashes_per_bucket=cfg["hashes_per_bucket"])

    def reader() -> JsonlReader:
        return JsonlReader(cfg["documents"], glob_pattern=cfg["glob"])

    stages = [
        ([reader(), MinhashDedupSignature(output_folder=f"{out}/signatures", config=config)], tasks, workers),
        ([MinhashDedupBuckets(input_folder=f"{out}/signatures", output_folder=f"{out}/buckets", config=config)],
         config.num_buckets, workers),
        ([MinhashDedupCluster(input_folder=f"{out}/buckets", output_folder=f"{out}/remove_ids", config=config,
                              save_cluster_id=True)], 1, 1),
        ([reader(),
          MinhashDedupFilter(input_folder=f"{out}/remove_ids", load_cluster_ids=True,
                             exclusion_writer=JsonlWriter(f"{out}/removed", adapter=id_and_cluster)),
          JsonlWriter(f"{out}/kept", adapter=id_and_cluster)], tasks, workers),
    ]
    for i, (pipeline, n_tasks, n_workers) in enumerate(stages, 1):
        LocalPipelineExecutor(pipeline=pipeline, tasks=n_tasks, workers=min(n_workers, n_tasks),
                              logging_dir=f"{out}/logs/stage{i}", skip_completed=False).run()


if __name__ == "__main__":
    main()

"""The datatrove side of ``vs_datatrove.py`` (filtering): one run of its language-ID + Gopher quality +
C4 quality pipeline, as its documentation builds one, on its local executor.

    PEER_PYTHON datatrove_filter.py CONFIG.json

Runs inside the pinned datatrove environment (standard library + datatrove only). CONFIG holds
``documents`` (a folder of ``<source>/*.jsonl.gz``), ``output`` (a folder this run owns), ``tasks``,
``workers``, ``language_threshold`` and ``lid_model`` (a local fastText lid.176 file). Writes the kept
documents to ``output/kept`` and the documents each filter dropped to ``output/removed/<stage>``
(datatrove's ``exclusion_writer``), which is what the benchmark reads back.

datatrove's ``LanguageFilter`` (backend ``ft176``) downloads ``lid.176.bin`` into its asset cache on
first use; these machines have no network, so the local model is placed where that cache looks
(``cached_asset_path_or_download``: ``$HF_ASSETS_CACHE/datatrove/lid/ft176/<url with / as _>`` plus its
``.completed`` marker) before the pipeline is built, and datatrove then loads it as its own.
"""

from __future__ import annotations

import json
import os
import sys


def place_lid_model(local: str) -> str:
    """Put ``local`` where datatrove's FT176LID looks, so it never downloads. Returns that path."""
    from datatrove.utils.lid import FT176LID
    from fsspec.core import strip_protocol
    from huggingface_hub import cached_assets_path

    folder = cached_assets_path(library_name="datatrove", namespace="lid", subfolder=FT176LID.MODEL_SUBFOLDER)
    target = os.path.join(folder, strip_protocol(FT176LID.MODEL_URL).replace("/", "_"))
    if os.path.realpath(target) != os.path.realpath(local):
        if os.path.lexists(target):
            os.remove(target)
        os.symlink(local, target)
    open(target + ".completed", "a").close()
    return target


def main() -> None:
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    place_lid_model(cfg["lid_model"])

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, LanguageFilter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    out = cfg["output"]
    LocalPipelineExecutor(
        pipeline=[
            JsonlReader(cfg["documents"], glob_pattern="*/*.jsonl.gz"),
            LanguageFilter(languages=["en"], language_threshold=cfg["language_threshold"],
                           exclusion_writer=JsonlWriter(f"{out}/removed/language")),
            GopherQualityFilter(exclusion_writer=JsonlWriter(f"{out}/removed/gopher")),
            C4QualityFilter(exclusion_writer=JsonlWriter(f"{out}/removed/c4")),
            JsonlWriter(f"{out}/kept"),
        ],
        tasks=cfg["tasks"], workers=cfg["workers"], logging_dir=f"{out}/logs",
        skip_completed=False,  # every round does all the work (its default would skip finished tasks)
    ).run()


if __name__ == "__main__":
    main()

"""``dolma-tools mix``: filter, mask and sample documents by their attributes (a recipe or a config)."""

from __future__ import annotations

import argparse
import json

EPILOG = """examples:
  # the shipped Dolma v1 web recipe on the whole sample corpus: tags, then mixes, then a summary
  dolma-tools mix --recipe dolma_v1_web --documents ../shared/data/corpus --destination out/dolma_v1
  # the same on Ray
  dolma-tools mix --recipe dolma_v1_web --documents ../shared/data/corpus --destination out/dolma_v1 --executor ray
  # your own YAML (see dolma_tools/recipes/dolma_v1_web.yaml) with overrides
  dolma-tools mix --recipe my_mix.yaml mix.sample.books=0.5 mix.seed=3 mix.max_size_bytes=50000000
  # only mix, attributes already computed (no tag step)
  dolma-tools mix --recipe dolma_v1_web --skip-tag --documents data/documents --destination out/mix
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dolma_tools.commands.tag import add_executor_arguments

    parser.add_argument("--recipe", default="dolma_v1_web", help="shipped recipe name or YAML path (default dolma_v1_web)")
    parser.add_argument("--documents", nargs="+", default=None, help="documents (sets mix.documents)")
    parser.add_argument("--destination", default=None, help="output folder (sets mix.destination)")
    parser.add_argument("--attributes-root", default=None, help="where attributes are (sets mix.attributes_root)")
    parser.add_argument("--skip-tag", action="store_true", help="do not run the recipe's tag steps")
    parser.add_argument("--json", action="store_true", help="also print the summary as JSON")
    parser.add_argument("overrides", nargs="*", help="key=value config overrides (OmegaConf dotlist)")
    add_executor_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from dolma_tools.mixer.config import load_recipe
    from dolma_tools.mixer.recipe import run_recipe

    # ``--documents a b key=value``: argparse gives the overrides to --documents; take them back
    if args.documents:
        args.overrides = [*args.overrides, *(d for d in args.documents if "=" in d)]
        args.documents = [d for d in args.documents if "=" not in d]
    recipe = load_recipe(args.recipe, args.overrides)
    if args.documents:
        recipe.mix.documents = list(args.documents)
    if args.destination:
        recipe.mix.destination = args.destination
    if args.attributes_root:
        recipe.mix.attributes_root = args.attributes_root
    if args.skip_tag:
        recipe.tag = []
    recipe.executor = args.executor if args.executor != "local" else recipe.executor
    recipe.processes = args.processes or recipe.processes
    recipe.on_error = args.on_error if args.on_error != "raise" else recipe.on_error
    result = run_recipe(recipe, progress=not args.no_progress, ray_address=args.ray_address)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1

"""open-instruct's olmo-core callbacks, registered by name in olmo-core's callback registry on import
(the trainers import this package before they build their callbacks): ``heldout_verified``."""

from open_instruct.callbacks import heldout_eval  # noqa: F401  (registers heldout_verified)

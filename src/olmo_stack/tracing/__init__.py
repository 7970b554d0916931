"""From a model's output back to its training data: a suffix-array index over a run's pretraining
tokens (``olmo-stack index``), the maximal spans of a text found verbatim in them, their documents and
the training steps that saw them (``olmo-stack trace-text``)."""

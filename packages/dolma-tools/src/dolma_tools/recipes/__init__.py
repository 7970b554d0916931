"""Shipped recipes (YAML over :class:`dolma_tools.mixer.config.RecipeConfig`)."""

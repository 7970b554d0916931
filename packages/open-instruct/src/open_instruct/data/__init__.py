"""Chat and preference data: reading, mixing, templating, tokenizing, caching, packing."""

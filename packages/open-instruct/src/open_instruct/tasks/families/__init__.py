"""The built-in task families; importing this package registers them."""

from open_instruct.tasks.families import arithmetic, formatting, sorting, strings, units  # noqa: F401

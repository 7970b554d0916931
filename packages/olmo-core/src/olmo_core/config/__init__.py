"""Run configs: typed dataclasses registered as hydra structured configs, with groups ``model``,
``data``, ``optim``, ``trainer`` and ``cluster`` and run presets ``tiny``, ``olmo_1b``, ``olmo_7b``."""

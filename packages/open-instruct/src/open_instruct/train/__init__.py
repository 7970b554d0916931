"""SFT and DPO on olmo-core's Trainer: loss objects, batch sources, configs and presets."""

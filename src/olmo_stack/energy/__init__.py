"""Energy and CO2eq of each pipeline stage: measured from hardware counters where the machine offers
them (RAPL powercap for CPU packages and DRAM, NVML for NVIDIA GPUs, AMD SMI for AMD GPUs), estimated
from power-draw models elsewhere and labelled so; CO2eq by the OLMo paper's method
(:mod:`olmo_stack.energy.carbon`). Pure standard library, so the codecarbon comparison
(:mod:`olmo_stack.energy.compare`) can run it inside codecarbon's own environment."""

from olmo_stack.energy.meter import EnergyConfig, EnergyMeter, Probe

__all__ = ["EnergyConfig", "EnergyMeter", "Probe"]

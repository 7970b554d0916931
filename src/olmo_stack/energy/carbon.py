"""CO2eq from energy, by the OLMo paper's method (Groeneveld et al. 2024, "OLMo: Accelerating the
Science of Language Models", section "Power Consumption and Carbon Footprint"):

    CO2eq (kg) = energy (kWh) x PUE x grid carbon intensity (kg CO2eq / kWh)

The paper set PUE to 1.1 ("a conservative 10% energy consumption overhead typical of energy efficient
datacenters") and took the carbon intensity of the grid where each model trained: 0.610 kg/kWh for the
A100 cluster in Australia (the national average for 2022, from the Clean Energy Regulator) and 0 for
LUMI (100% hydroelectric; the paper notes 0.024 kg/kWh for hydro would give 3.54 tCO2eq). Its 7B
pretraining: 239 MWh, 69.78 tCO2eq. Our defaults are the paper's PUE and its non-zero intensity; set
``energy.carbon_intensity_kg_per_kwh`` to your grid's (e.g. 0 for LUMI)."""

from __future__ import annotations

#: the OLMo paper's power usage effectiveness
DEFAULT_PUE = 1.1
#: the OLMo paper's grid intensity for its Australian A100 cluster (kg CO2eq per kWh)
DEFAULT_CARBON_INTENSITY = 0.610
FORMULA = "CO2eq (kg) = energy (kWh) x PUE x carbon intensity (kg CO2eq/kWh)"
JOULES_PER_KWH = 3.6e6


def co2eq_kg(joules: float, pue: float, intensity_kg_per_kwh: float) -> float:
    return joules / JOULES_PER_KWH * pue * intensity_kg_per_kwh

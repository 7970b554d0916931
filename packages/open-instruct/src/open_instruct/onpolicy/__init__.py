"""On-policy preference data: k samples per task prompt from the model being adapted, scored by the
task's verifier, verified responses paired against failed ones, cached by content hash."""

from open_instruct.onpolicy.build import OnPolicyConfig, OnPolicyResult, build_preferences
from open_instruct.onpolicy.pairing import PairingConfig, pair_responses

__all__ = ["OnPolicyConfig", "OnPolicyResult", "PairingConfig", "build_preferences", "pair_responses"]

"""The one decision core every entry point calls: gather → ``DecisionInputs`` → ``evaluate`` → ``record``.

VerifyMaterial fetches URLs, the device protocol loads a capture, later flows bring their own inputs; all
of them become one ``DecisionInputs``, are judged by one ``evaluate`` (every check the scheme needs: liveness,
identity, card, faces, authority) and stored by one ``record`` (verdict, evidence, material and the
callback in a single transaction).
"""

from shiren.services.decision.evaluation import DecisionModels, Outcome, evaluate
from shiren.services.decision.inputs import Capture, DecisionInputs
from shiren.services.decision.recording import NewAttempt, PendingAttempt, record

__all__ = [
    "Capture",
    "DecisionInputs",
    "DecisionModels",
    "NewAttempt",
    "Outcome",
    "PendingAttempt",
    "evaluate",
    "record",
]

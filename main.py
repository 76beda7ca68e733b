"""The Cloud Functions source root: every entry point, by name."""

from functions.compute_reward import compute_reward
from functions.generate_post import generate_post
from functions.read_business import read_business
from functions.record_snapshot import record_snapshot
from functions.report import report
from functions.review_post import review_post
from functions.save_profile import save_profile
from functions.update_policy import update_policy

__all__ = [
    "compute_reward",
    "generate_post",
    "read_business",
    "record_snapshot",
    "report",
    "review_post",
    "save_profile",
    "update_policy",
]

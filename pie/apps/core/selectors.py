"""Read rules for PIE's identities: which LMS user ids are retired."""

from collections.abc import Iterable

from pie.apps.core.models import RetiredLearner

# Ids per query: well under every database's limit on bound parameters (SQLite's 32,766).
_IDS_PER_QUERY = 5000


def lms_user_id_is_retired(lms_user_id: int) -> bool:
    return RetiredLearner.objects.filter(lms_user_id=lms_user_id).exists()


def retired_lms_user_ids(lms_user_ids: Iterable[int]) -> set[int]:
    """Those of ``lms_user_ids`` that are retired (one indexed query per 5,000 ids)."""
    wanted = sorted(set(lms_user_ids))
    retired: set[int] = set()
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        chunk = wanted[start : start + _IDS_PER_QUERY]
        retired.update(
            RetiredLearner.objects.filter(lms_user_id__in=chunk).values_list(
                "lms_user_id", flat=True
            )
        )
    return retired

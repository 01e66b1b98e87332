from django.urls import re_path
from rest_framework.routers import DefaultRouter

from pie.apps.intents.api.v1 import service_views
from pie.apps.intents.api.v1.views import ProgramIntentViewSet


class OptionalSlashRouter(DefaultRouter):
    """Every path answers with or without its trailing slash."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.include_root_view = False
router.register("program_intents", ProgramIntentViewSet, basename="program_intents")

urlpatterns = [
    *router.urls,
    re_path(
        r"^learners/(?P<lms_user_id>[^/]+)/program_intents/?$",
        service_views.LearnerIntentsView.as_view(),
        name="learner_program_intents",
    ),
    re_path(
        r"^learners/(?P<lms_user_id>[^/]+)/program_intents/most_recent_and_certain/?$",
        service_views.LearnerMostRecentAndCertainView.as_view(),
        name="learner_program_intents_most_recent_and_certain",
    ),
    re_path(
        r"^programs/(?P<program_uuid>[^/]+)/intents/summary/?$",
        service_views.ProgramIntentSummaryView.as_view(),
        name="program_intents_summary",
    ),
    re_path(r"^retire_user/?$", service_views.RetireUserView.as_view(), name="retire_user"),
]

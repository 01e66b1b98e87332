"""
Every API path, written out in one style: a regular expression whose trailing slash is
optional, so that /api/v1/program_intents and /api/v1/program_intents/ answer alike.
"""

from django.urls import re_path

from pie.apps.intents.api.v1 import service_views
from pie.apps.intents.api.v1.views import ProgramIntentViewSet

urlpatterns = [
    re_path(
        r"^program_intents/?$",
        ProgramIntentViewSet.as_view({"get": "list", "post": "create"}),
        name="program_intents-list",
    ),
    re_path(
        r"^program_intents/most_recent_and_certain/?$",
        ProgramIntentViewSet.as_view(
            {"get": "most_recent_and_certain"},
            **ProgramIntentViewSet.most_recent_and_certain.kwargs,
        ),
        name="program_intents-most-recent-and-certain",
    ),
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

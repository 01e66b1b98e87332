"""
Endpoints for other Open edX services and staff: any learner's intents, program summaries,
and the retirement pipeline's erase call. Learners get 403 on all of them.
"""

import logging

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from pie.apps.core.api.exceptions import Conflict
from pie.apps.core.api.schema import ErrorResponseSerializer
from pie.apps.core.permissions import IsRetirementWorker, IsServiceWorkerOrStaff
from pie.apps.intents import selectors, services
from pie.apps.intents.api.v1.serializers import (
    BulkCreateResultSerializer,
    IntentFilterSerializer,
    LearnerPathSerializer,
    ProgramIntentCreateSerializer,
    ProgramIntentSerializer,
    ProgramIntentSummarySerializer,
    ProgramPathSerializer,
    RetireUserSerializer,
    best_intents_representation,
    intent_representation,
)
from pie.apps.intents.api.v1.shared import (
    ERROR_RESPONSES,
    INTENT_EXAMPLE,
    LEARNER_RETIRED,
    LMS_USER_ID_PARAMETER,
    NOT_JSON,
    PAGE_NOT_FOUND,
    PROGRAM_UUID_PARAMETER,
    record_intent,
    validated_parameters,
)

log = logging.getLogger(__name__)

MAX_INTENTS_PER_REQUEST = 1000
SERVICE_ERRORS = {
    **ERROR_RESPONSES,
    403: OpenApiResponse(ErrorResponseSerializer, description="Not staff or a service worker."),
}


def _path_lms_user_id(view) -> int:
    return validated_parameters(LearnerPathSerializer, view.kwargs)["lms_user_id"]


class LearnerIntentsView(generics.ListAPIView):
    """Any learner's intents, for services and staff."""

    permission_classes = [IsServiceWorkerOrStaff]
    serializer_class = ProgramIntentSerializer

    def get_queryset(self):
        filters = IntentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.intents_for_learner(
            lms_user_id=_path_lms_user_id(self), **filters.validated_data
        )

    @extend_schema(
        summary="A learner's intents",
        description="Full history, newest effective timestamp first, paginated.",
        parameters=[LMS_USER_ID_PARAMETER, IntentFilterSerializer],
        responses={200: ProgramIntentSerializer(many=True), **SERVICE_ERRORS, **PAGE_NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Record intents for a learner",
        description=(
            "One intent (an object: 201, or 400 for a duplicate or bad input, like the learner "
            f"POST) or a list of up to {MAX_INTENTS_PER_REQUEST} for backfills. A list is "
            "answered 200 with one result per item, in order: each item is recorded or "
            "refused on its own."
        ),
        parameters=[LMS_USER_ID_PARAMETER],
        request=ProgramIntentCreateSerializer,
        responses={
            201: ProgramIntentSerializer,
            200: OpenApiResponse(BulkCreateResultSerializer, description="Results of a list."),
            **SERVICE_ERRORS,
            **LEARNER_RETIRED,
            **NOT_JSON,
        },
        examples=[
            OpenApiExample("One intent", value=INTENT_EXAMPLE, request_only=True),
            OpenApiExample(
                "A backfill list",
                value=[INTENT_EXAMPLE, {**INTENT_EXAMPLE, "certainty": "MAYBE"}],
                request_only=True,
            ),
        ],
    )
    def post(self, request, *args, **kwargs):
        lms_user_id = _path_lms_user_id(self)
        if not isinstance(request.data, list):
            intent = record_intent(lms_user_id=lms_user_id, data=request.data)
            return Response(intent_representation(intent), status=status.HTTP_201_CREATED)
        if not 0 < len(request.data) <= MAX_INTENTS_PER_REQUEST:
            raise ValidationError(
                {"non_field_errors": [f"Send 1 to {MAX_INTENTS_PER_REQUEST} intents per request."]}
            )
        results = []
        for index, item in enumerate(request.data):
            try:
                intent = record_intent(lms_user_id=lms_user_id, data=item)
            except (ValidationError, PermissionDenied, Conflict) as error:
                results.append(
                    {"index": index, "status": error.status_code, "errors": error.detail}
                )
            else:
                results.append(
                    {"index": index, "status": 201, "intent": intent_representation(intent)}
                )
        created = sum(1 for result in results if result["status"] == 201)
        return Response(
            {"created": created, "failed": len(results) - created, "results": results},
            status=status.HTTP_200_OK,
        )


class LearnerMostRecentAndCertainView(APIView):
    permission_classes = [IsServiceWorkerOrStaff]

    @extend_schema(
        summary="A learner's best-known intent per program",
        description="The same selection rule as the learner endpoint, for any learner.",
        parameters=[LMS_USER_ID_PARAMETER],
        responses={200: ProgramIntentSerializer(many=True), **SERVICE_ERRORS},
    )
    def get(self, request, lms_user_id):
        intents = selectors.intents_most_recent_and_certain(lms_user_id=_path_lms_user_id(self))
        return Response(best_intents_representation(intents))


class ProgramIntentSummaryView(APIView):
    permission_classes = [IsServiceWorkerOrStaff]

    @extend_schema(
        summary="How many learners' best intent for a program has each certainty",
        description=(
            "For each certainty, the number of learners whose best-known intent for this "
            "program (the most-recent-and-certain rule) has it. One aggregate query."
        ),
        parameters=[PROGRAM_UUID_PARAMETER],
        responses={200: ProgramIntentSummarySerializer, **SERVICE_ERRORS},
    )
    def get(self, request, program_uuid):
        program = validated_parameters(ProgramPathSerializer, self.kwargs)["program_uuid"]
        counts = selectors.program_intent_summary(program_uuid=program)
        return Response(
            {
                "program_uuid": str(program),
                "learners": sum(counts.values()),
                "certainty": counts,
            }
        )


class RetireUserView(APIView):
    """Open edX's retirement pipeline erases a learner here (GenericRetirementApi)."""

    permission_classes = [IsRetirementWorker]

    @extend_schema(
        summary="Retire a learner",
        description=(
            "Remembers the LMS user id as retired (no later write records an intent for it), "
            "deletes every intent of the learner and scrubs PIE's user rows for that id, in "
            "one transaction. 204 also when PIE holds nothing for the learner."
        ),
        request=RetireUserSerializer,
        responses={204: None, **SERVICE_ERRORS, **NOT_JSON},
        examples=[OpenApiExample("Retirement driver", value={"edx_lms_user_id": 42})],
    )
    def post(self, request):
        serializer = RetireUserSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lms_user_id = serializer.validated_data["lms_user_id"]
        intents_deleted, users_scrubbed = services.learner_retire(lms_user_id=lms_user_id)
        log.info(
            "Retired LMS user %s: %s intent(s) deleted, %s user row(s) scrubbed.",
            lms_user_id,
            intents_deleted,
            users_scrubbed,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

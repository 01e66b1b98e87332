from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response

from pie.apps.core.api.renderers import PlainDataJSONRenderer
from pie.apps.core.api.schema import ErrorResponseSerializer
from pie.apps.core.authentication import requesting_learner_id
from pie.apps.intents import selectors
from pie.apps.intents.api.v1.serializers import (
    ProgramFilterSerializer,
    ProgramIntentCreateSerializer,
    ProgramIntentSerializer,
    best_intents_representation,
    intent_representation,
)
from pie.apps.intents.api.v1.shared import (
    ERROR_RESPONSES,
    INTENT_EXAMPLE,
    LEARNER_RETIRED,
    NO_LEARNER,
    NOT_JSON,
    PAGE_NOT_FOUND,
    record_intent,
    validated_parameters,
)


class ProgramIntentViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The requesting learner's program intents. A learner only ever sees or writes their own."""

    serializer_class = ProgramIntentSerializer

    def get_queryset(self):
        # Only a filtered list pays for the filter's serializer: about 1% of a GET, measured.
        filters = (
            validated_parameters(ProgramFilterSerializer, self.request.query_params)
            if "program_uuid" in self.request.query_params
            else {}
        )
        return selectors.intents_for_learner(lms_user_id=self._lms_user_id(), **filters)

    def _lms_user_id(self) -> int:
        return requesting_learner_id(self.request)

    @extend_schema(
        summary="List my intents",
        description="The requester's intents, newest effective timestamp first, paginated.",
        parameters=[ProgramFilterSerializer],
        responses={
            200: ProgramIntentSerializer(many=True),
            **ERROR_RESPONSES,
            **NO_LEARNER,
            **PAGE_NOT_FOUND,
        },
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        summary="Record an intent",
        description=(
            "Records an intent for the requesting learner. An identical intent (same program, "
            "reason, certainty and effective timestamp) is refused with a 400."
        ),
        request=ProgramIntentCreateSerializer,
        responses={
            201: ProgramIntentSerializer,
            403: OpenApiResponse(
                ErrorResponseSerializer,
                description="lms_user_id is not the requester's, or the token names no learner.",
            ),
            **ERROR_RESPONSES,
            **LEARNER_RETIRED,
            **NOT_JSON,
        },
        examples=[OpenApiExample("An intent", value=INTENT_EXAMPLE, request_only=True)],
    )
    def create(self, request, *args, **kwargs):
        intent = record_intent(lms_user_id=self._lms_user_id(), data=request.data)
        return Response(intent_representation(intent), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="My best-known intent per program",
        description=(
            "For each of the requester's programs, the most recent CERTAIN_YES or CERTAIN_NO "
            "intent by effective timestamp; a program with no certain intent gives its most "
            "recent MAYBE. Equal timestamps: the intent recorded last wins. Not paginated: one "
            "row per program."
        ),
        responses={200: ProgramIntentSerializer(many=True), **ERROR_RESPONSES, **NO_LEARNER},
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=None,
        # Its rows are strings and integers: orjson encodes them, same bytes, faster.
        renderer_classes=[PlainDataJSONRenderer, BrowsableAPIRenderer],
    )
    def most_recent_and_certain(self, request):
        intents = selectors.intents_most_recent_and_certain(lms_user_id=self._lms_user_id())
        return Response(best_intents_representation(intents))

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from edx_rest_framework_extensions.errors import ErrorResponseSerializer
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from pie.apps.core.api.exceptions import Conflict
from pie.apps.core.authentication import requesting_learner_id
from pie.apps.intents import selectors, services
from pie.apps.intents.api.v1.serializers import (
    ProgramIntentCreateSerializer,
    ProgramIntentSerializer,
    best_intents_representation,
)
from pie.apps.intents.exceptions import (
    DuplicateIntentError,
    RetiredLearnerError,
    UnknownReasonError,
)
from pie.apps.intents.models import ProgramIntent
from pie.apps.intents.values import InvalidValue, parse_program_uuid

ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorResponseSerializer, description="Invalid input."),
    401: OpenApiResponse(ErrorResponseSerializer, description="Missing or invalid JWT."),
}
LEARNER_RETIRED = {
    409: OpenApiResponse(ErrorResponseSerializer, description="The learner has been retired."),
}
NO_LEARNER = {
    403: OpenApiResponse(
        ErrorResponseSerializer, description="The token names no learner (a service's token)."
    ),
}
PAGE_NOT_FOUND = {
    404: OpenApiResponse(ErrorResponseSerializer, description="No such page (page, page_size)."),
}


def record_intent(*, lms_user_id: int, data) -> ProgramIntent:
    """
    Validate one intent from a request body and record it for ``lms_user_id``. Raises
    ``ValidationError`` (400) for bad input, an unknown reason or a duplicate,
    ``PermissionDenied`` (403) when the body names another learner and ``Conflict`` (409)
    when the learner has been retired.
    """
    serializer = ProgramIntentCreateSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    fields = dict(serializer.validated_data)
    if fields.pop("lms_user_id", lms_user_id) != lms_user_id:
        raise PermissionDenied("lms_user_id in the body must be the learner's own.")
    try:
        return services.intent_create(lms_user_id=lms_user_id, **fields)
    except UnknownReasonError as error:
        raise ValidationError({"reason": [str(error)]}, code="unknown_reason") from None
    except DuplicateIntentError as error:
        raise ValidationError({"non_field_errors": [str(error)]}, code="duplicate_intent") from None
    except RetiredLearnerError as error:
        raise Conflict(str(error), code="learner_retired") from None


class ProgramIntentViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The requesting learner's program intents. A learner only ever sees or writes their own."""

    serializer_class = ProgramIntentSerializer

    def get_queryset(self):
        program_uuid = self.request.query_params.get("program_uuid")
        if program_uuid is not None:
            try:
                program_uuid = parse_program_uuid(program_uuid)
            except InvalidValue as error:
                raise ValidationError({"program_uuid": [str(error)]}) from None
        return selectors.intents_for_learner(
            lms_user_id=self._lms_user_id(), program_uuid=program_uuid
        )

    def _lms_user_id(self) -> int:
        return requesting_learner_id(self.request)

    @extend_schema(
        summary="List my intents",
        description="The requester's intents, newest effective timestamp first, paginated.",
        parameters=[
            OpenApiParameter("program_uuid", str, description="Only this program's intents.")
        ],
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
        },
    )
    def create(self, request, *args, **kwargs):
        intent = record_intent(lms_user_id=self._lms_user_id(), data=request.data)
        return Response(ProgramIntentSerializer(intent).data, status=status.HTTP_201_CREATED)

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
    @action(detail=False, methods=["get"], pagination_class=None)
    def most_recent_and_certain(self, request):
        intents = selectors.intents_most_recent_and_certain(lms_user_id=self._lms_user_id())
        return Response(best_intents_representation(intents))

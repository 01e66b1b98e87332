"""
What the learner API (views.py) and the service API (service_views.py) share: recording one
intent from a request body, reading parameters through a serializer, and the OpenAPI
descriptions of their errors and parameters.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError

from pie.apps.core.api.exceptions import Conflict
from pie.apps.core.api.schema import ErrorResponseSerializer
from pie.apps.intents import services
from pie.apps.intents.api.v1.serializers import ProgramIntentCreateSerializer
from pie.apps.intents.exceptions import (
    DuplicateIntentError,
    RetiredLearnerError,
    UnknownReasonError,
)
from pie.apps.intents.models import ProgramIntent

ERROR_RESPONSES = {
    400: OpenApiResponse(ErrorResponseSerializer, description="Invalid input."),
    401: OpenApiResponse(ErrorResponseSerializer, description="Missing or invalid JWT."),
}
NOT_JSON = {
    415: OpenApiResponse(
        ErrorResponseSerializer, description="The body was not sent as application/json."
    ),
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
LMS_USER_ID_PARAMETER = OpenApiParameter(
    "lms_user_id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="The learner's LMS id.",
    examples=[OpenApiExample("LMS user 42", value=42)],
)
PROGRAM_UUID_PARAMETER = OpenApiParameter(
    "program_uuid",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    examples=[OpenApiExample("A program", value="3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1")],
)
# Swagger UI's "Try it out" starts from these; a test posts each one and expects it recorded.
INTENT_EXAMPLE = {
    "program_uuid": "3a0fd5a0-f5c0-4b1f-a3b8-f0f4c6a7e9d1",
    "reason": "BUNDLE_PURCHASE",
    "certainty": "CERTAIN_YES",
    "effective_timestamp": "2024-05-01T12:00:00Z",
}


def validated_parameters(serializer_class: type[serializers.Serializer], data) -> dict:
    """Path or query parameters read through ``serializer_class``; a 400 when they are invalid."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


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

import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pie.apps.intents.models import Certainty, ProgramIntent
from pie.apps.intents.selectors import BEST_INTENT_FIELDS
from pie.apps.intents.values import (
    MAX_LMS_USER_ID,
    InvalidValue,
    normalize_reason_code,
    parse_certainty,
    parse_effective_timestamp,
    parse_lms_user_id,
    parse_program_uuid,
)


class _ParsedField(serializers.Field):
    """A field whose input is parsed by one of the domain parsers in intents.values."""

    parser = None
    wrong_type = "Must be a string."

    def to_internal_value(self, data):
        if not isinstance(data, (str, int)) or isinstance(data, bool):
            raise serializers.ValidationError(self.wrong_type)
        try:
            return type(self).parser(data)
        except InvalidValue as error:
            raise serializers.ValidationError(str(error)) from None


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_LMS_USER_ID})
class LmsUserIdField(_ParsedField):
    parser = staticmethod(parse_lms_user_id)
    wrong_type = "Must be a positive integer."

    def to_representation(self, value):
        return value


@extend_schema_field({"type": "string", "format": "uuid"})
class ProgramUuidField(_ParsedField):
    parser = staticmethod(parse_program_uuid)

    def to_representation(self, value):
        return str(value)


@extend_schema_field(
    {
        "type": "string",
        "format": "date-time",
        "description": "ISO 8601 with Z or an offset, or 'YYYY-MM-DD HH:MM:SS' in UTC.",
    }
)
class EffectiveTimestampField(_ParsedField):
    parser = staticmethod(parse_effective_timestamp)

    def to_representation(self, value):
        return serializers.DateTimeField().to_representation(value)


@extend_schema_field({"type": "string", "enum": Certainty.values})
class CertaintyField(_ParsedField):
    parser = staticmethod(parse_certainty)

    def to_representation(self, value):
        return value


class ProgramIntentSerializer(serializers.ModelSerializer):
    """A stored intent, as every endpoint returns it."""

    program_uuid = serializers.UUIDField(format="hex_verbose")
    reason = serializers.CharField(source="reason.code")
    effective_timestamp = serializers.DateTimeField()
    created = serializers.DateTimeField()

    class Meta:
        model = ProgramIntent
        # The same fields, in the same order, as the learner's fast read returns.
        fields = list(BEST_INTENT_FIELDS)
        read_only_fields = fields


def _utc_timestamp(value: datetime.datetime) -> str:
    """An aware datetime as DRF's DateTimeField shows it under TIME_ZONE "UTC"."""
    text = value.astimezone(datetime.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def best_intents_representation(intents: list[dict]) -> list[dict]:
    """
    Rows of ``selectors.intents_most_recent_and_certain`` as ProgramIntentSerializer shows an
    intent (same keys, same formats; a test holds them equal), built directly: a
    ModelSerializer costs about as much per row as the rest of the request (fields built by
    introspection, one Field call per value).
    """
    timestamp = _utc_timestamp
    return [
        {
            "id": intent["id"],
            "lms_user_id": intent["lms_user_id"],
            "program_uuid": str(intent["program_uuid"]),
            "reason": intent["reason"],
            "certainty": intent["certainty"],
            "effective_timestamp": timestamp(intent["effective_timestamp"]),
            "created": timestamp(intent["created"]),
        }
        for intent in intents
    ]


class ProgramIntentCreateSerializer(serializers.Serializer):
    """What a learner sends to record an intent. Unknown fields are refused, not ignored."""

    program_uuid = ProgramUuidField(help_text="The program, dashed or as 32 hex digits.")
    reason = serializers.CharField(
        max_length=64, help_text="A known reason code, e.g. BUNDLE_PURCHASE (any case)."
    )
    certainty = CertaintyField(help_text="CERTAIN_YES, CERTAIN_NO or MAYBE (any case).")
    effective_timestamp = EffectiveTimestampField(
        help_text="When the learner's action happened. Returned in UTC."
    )
    lms_user_id = LmsUserIdField(
        required=False,
        help_text="Optional; when given it must be the requester's own LMS user id.",
    )

    def to_internal_value(self, data):
        if isinstance(data, dict):
            # The browsable API's HTML form posts its CSRF token alongside the fields.
            unknown = sorted(set(data) - set(self.fields) - {"csrfmiddlewaretoken"})
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class IntentFilterSerializer(serializers.Serializer):
    """Query parameters that narrow a learner's history."""

    program_uuid = ProgramUuidField(required=False, help_text="Only this program.")
    reason = serializers.CharField(required=False, max_length=64, help_text="Only this reason.")
    certainty = CertaintyField(required=False, help_text="Only this certainty.")
    effective_after = EffectiveTimestampField(
        required=False, help_text="Only intents effective at or after this time."
    )
    effective_before = EffectiveTimestampField(
        required=False, help_text="Only intents effective before this time."
    )

    def validate_reason(self, value):
        try:
            return normalize_reason_code(value)
        except InvalidValue as error:
            raise serializers.ValidationError(str(error)) from None


class BulkCreateItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request list.")
    status = serializers.IntegerField(
        help_text="201 recorded, 400 refused, 403 wrong learner, 409 retired learner."
    )
    intent = ProgramIntentSerializer(required=False, help_text="The stored intent, on 201.")
    errors = serializers.JSONField(required=False, help_text="What was wrong, otherwise.")


class BulkCreateResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BulkCreateItemSerializer(many=True)


class CertaintyCountsSerializer(serializers.Serializer):
    CERTAIN_YES = serializers.IntegerField()
    CERTAIN_NO = serializers.IntegerField()
    MAYBE = serializers.IntegerField()


class ProgramIntentSummarySerializer(serializers.Serializer):
    program_uuid = serializers.UUIDField()
    learners = serializers.IntegerField(help_text="Learners with any intent for the program.")
    certainty = CertaintyCountsSerializer(
        help_text="Learners whose best-known intent has each certainty."
    )


class RetireUserSerializer(serializers.Serializer):
    """edx-platform's retirement driver sends edx_lms_user_id; lms_user_id is accepted too."""

    edx_lms_user_id = serializers.JSONField(required=False)
    lms_user_id = serializers.JSONField(required=False)

    def validate(self, attrs):
        value = attrs.get("edx_lms_user_id", attrs.get("lms_user_id"))
        if value is None:
            raise serializers.ValidationError(
                {"edx_lms_user_id": ["This field is required (or lms_user_id)."]}
            )
        try:
            return {"lms_user_id": parse_lms_user_id(value)}
        except InvalidValue as error:
            raise serializers.ValidationError({"edx_lms_user_id": [str(error)]}) from None

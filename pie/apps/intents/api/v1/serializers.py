import datetime
from collections.abc import Callable

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from pie.apps.intents import services
from pie.apps.intents.exceptions import UnknownReasonError
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


def parse_or_reject(parser: Callable, value, *, field: str | None = None):
    """
    ``parser(value)``, with the ``InvalidValue`` of a parser from intents.values turned into
    DRF's ``ValidationError``: a 400 whose message is the parser's, under ``field`` if given.
    The one place where the domain's parsing errors become API errors.
    """
    try:
        return parser(value)
    except InvalidValue as error:
        raise serializers.ValidationError(
            str(error) if field is None else {field: [str(error)]}
        ) from None


class _ParsedField(serializers.Field):
    """A field whose input is parsed by one of the domain parsers in intents.values."""

    parser = None
    wrong_type = "Must be a string."

    def to_internal_value(self, data):
        if not isinstance(data, (str, int)) or isinstance(data, bool):
            raise serializers.ValidationError(self.wrong_type)
        return parse_or_reject(type(self).parser, data)


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


def _utc_text(value: datetime.datetime) -> str:
    """An aware datetime as DRF's DateTimeField shows it under TIME_ZONE "UTC"."""
    text = value.astimezone(datetime.UTC).isoformat()
    return text[:-6] + "Z"  # isoformat writes UTC as +00:00


def _uuid_text(value) -> str:
    """A program UUID (a ``uuid.UUID``, or its text from the database) as dashed lowercase."""
    if not isinstance(value, str):
        return str(value)
    if len(value) == 32:  # Django's text for a UUID where the database has no uuid type
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    return value  # MariaDB's uuid type: already dashed lowercase


def intent_representation(intent: ProgramIntent) -> dict:
    """
    One intent as ProgramIntentSerializer shows it (a test holds them equal), for the
    responses to a POST: the serializer builds its fields anew for each instance, about a
    tenth of a POST's time.
    """
    return {
        "id": intent.id,
        "lms_user_id": intent.lms_user_id,
        "program_uuid": _uuid_text(intent.program_uuid),
        "reason": intent.reason.code,
        "certainty": intent.certainty,
        "effective_timestamp": _utc_text(intent.effective_timestamp),
        "created": _utc_text(intent.created),
    }


def _whole_seconds_without_fraction(text: str) -> str:
    """UTC text from the selector as DRF shows it: no fraction when it is zero."""
    return text[:-8] + "Z" if text.endswith(".000000Z") else text


def best_intents_representation(rows: list[tuple]) -> list[dict]:
    """
    Rows of ``selectors.intents_most_recent_and_certain`` as ProgramIntentSerializer shows an
    intent (same keys, same formats; a test holds them equal), built directly from the
    selector's plain values: a ModelSerializer costs about as much per row as the rest of the
    request (fields built by introspection, one Field call per value).
    """
    timestamp, program = _whole_seconds_without_fraction, _uuid_text
    return [
        {
            "id": intent_id,
            "lms_user_id": lms_user_id,
            "program_uuid": program(program_uuid),
            "reason": reason,
            "certainty": certainty,
            "effective_timestamp": timestamp(effective_timestamp),
            "created": timestamp(created),
        }
        for (
            intent_id,
            lms_user_id,
            program_uuid,
            reason,
            certainty,
            effective_timestamp,
            created,
        ) in rows
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
        """
        The fields' values, or every problem of the body at once: unknown fields, invalid
        values and an unknown reason together, so that a caller fixes them in one round.
        """
        errors = {}
        if isinstance(data, dict):
            # The browsable API's HTML form posts its CSRF token alongside the fields.
            unknown = sorted(set(data) - set(self.fields) - {"csrfmiddlewaretoken"})
            errors.update({name: ["Unknown field."] for name in unknown})
        try:
            values = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, dict):  # not an object at all
                raise
            errors.update(error.detail)
        if not errors:
            return values
        if "reason" not in errors and isinstance(data, dict):
            # Reasons are data (ADR 0001). A valid body's reason is checked once, when
            # services.intent_create looks it up; only a body refused anyway pays this query.
            try:
                services.reason_get(code=data["reason"])
            except UnknownReasonError as error:
                errors["reason"] = [str(error)]
        raise serializers.ValidationError(errors)


class LearnerPathSerializer(serializers.Serializer):
    """The learner named in a service API path, /api/v1/learners/{lms_user_id}/..."""

    lms_user_id = LmsUserIdField()


class ProgramPathSerializer(serializers.Serializer):
    """The program named in a path, /api/v1/programs/{program_uuid}/..."""

    program_uuid = ProgramUuidField()


class ProgramFilterSerializer(serializers.Serializer):
    """The query parameter that narrows a learner's own list to one program."""

    program_uuid = ProgramUuidField(required=False, help_text="Only this program.")


class IntentFilterSerializer(ProgramFilterSerializer):
    """Query parameters that narrow a learner's history."""

    reason = serializers.CharField(required=False, max_length=64, help_text="Only this reason.")
    certainty = CertaintyField(required=False, help_text="Only this certainty.")
    effective_after = EffectiveTimestampField(
        required=False, help_text="Only intents effective at or after this time."
    )
    effective_before = EffectiveTimestampField(
        required=False, help_text="Only intents effective before this time."
    )

    def validate_reason(self, value):
        return parse_or_reject(normalize_reason_code, value)


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
        return {"lms_user_id": parse_or_reject(parse_lms_user_id, value, field="edx_lms_user_id")}

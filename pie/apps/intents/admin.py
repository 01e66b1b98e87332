import uuid

from django.contrib import admin

from pie.apps.intents.models import IntentReason, ProgramIntent
from pie.apps.intents.values import InvalidValue, parse_lms_user_id


@admin.register(IntentReason)
class IntentReasonAdmin(admin.ModelAdmin):
    list_display = ("code", "default_certainty", "description", "modified")
    search_fields = ("code", "description")
    readonly_fields = ("created", "modified")

    def get_readonly_fields(self, request, obj=None):
        # Stored intents point at a reason; renaming its code would rewrite their history.
        if obj is not None:
            return (*self.readonly_fields, "code")
        return self.readonly_fields


@admin.register(ProgramIntent)
class ProgramIntentAdmin(admin.ModelAdmin):
    """Read-only: intents are immutable, and new ones come from the API or the import."""

    list_display = (
        "lms_user_id",
        "program_uuid",
        "reason",
        "certainty",
        "effective_timestamp",
        "created",
    )
    list_filter = ("reason", "certainty", "effective_timestamp", "created")
    list_select_related = ("reason",)
    search_fields = ("lms_user_id", "program_uuid")
    search_help_text = "An LMS user id (digits) or a program UUID."
    date_hierarchy = "effective_timestamp"
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        """Exact, index-friendly matches instead of admin's default LIKE on every field."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            try:
                return queryset.filter(lms_user_id=parse_lms_user_id(term)), False
            except InvalidValue:
                return queryset.none(), False
        try:
            return queryset.filter(program_uuid=uuid.UUID(term)), False
        except ValueError:
            return queryset.none(), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from pie.apps.core.models import RetiredLearner, User
from pie.apps.core.values import InvalidValue, parse_lms_user_id


@admin.register(User)
class PieUserAdmin(UserAdmin):
    list_display = (
        "username",
        "lms_user_id",
        "is_lms_account",
        "email",
        "is_staff",
        "is_superuser",
        "last_login",
    )
    list_filter = ("is_lms_account", *UserAdmin.list_filter)
    search_fields = ("username", "email", "lms_user_id")
    # The LMS identity comes from tokens only: staff cannot bind a local account to a learner.
    readonly_fields = ("lms_user_id", "is_lms_account")
    fieldsets = (*UserAdmin.fieldsets, ("Open edX", {"fields": ("lms_user_id", "is_lms_account")}))


@admin.register(RetiredLearner)
class RetiredLearnerAdmin(admin.ModelAdmin):
    """Read-only: the retirement pipeline adds rows; nobody edits or removes them here."""

    list_display = ("lms_user_id", "retired_at")
    search_fields = ("lms_user_id",)
    search_help_text = "An LMS user id."
    date_hierarchy = "retired_at"

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        try:
            return queryset.filter(lms_user_id=parse_lms_user_id(search_term)), False
        except InvalidValue:
            return queryset.none(), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

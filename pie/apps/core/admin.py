from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from pie.apps.core.models import User


@admin.register(User)
class PieUserAdmin(UserAdmin):
    list_display = ("username", "lms_user_id", "email", "is_staff", "is_superuser", "last_login")
    search_fields = ("username", "email", "lms_user_id")
    fieldsets = (*UserAdmin.fieldsets, ("Open edX", {"fields": ("lms_user_id",)}))

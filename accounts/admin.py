from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts.models import User
from tickets.models import Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["department"]
    verbose_name = "department membership"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = [
        "username",
        "get_full_name",
        "email",
        "home_department",
        "manager",
        "is_active",
        "is_staff",
    ]
    list_filter = ["home_department", "is_active", "is_staff", "memberships__role"]
    search_fields = ["username", "first_name", "last_name", "email"]
    list_select_related = ["home_department", "manager"]
    autocomplete_fields = ["home_department", "manager"]
    inlines = [MembershipInline]
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Organisation", {"fields": ("home_department", "manager", "job_title")}),
    )
    add_fieldsets = (
        *(BaseUserAdmin.add_fieldsets or ()),
        ("Organisation", {"fields": ("first_name", "last_name", "email", "home_department")}),
    )

    @admin.display(description="name", ordering="first_name")
    def get_full_name(self, obj: User) -> str:
        return obj.get_full_name()

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from batchplatform.admin_tools import ViewOnlyAdmin
from batchplatform.models import ApiToken, Event, LoginLockout, Membership, Organisation
from batchplatform.services import create_api_token, revoke_api_token
from batchplatform.throttle import clear_lockout


class MembershipInline(admin.StackedInline):
    model = Membership
    can_delete = False
    extra = 0
    max_num = 1


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "member_count", "created_at"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description="members")
    def member_count(self, organisation):
        return organisation.memberships.count()


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class MemberUserAdmin(UserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "organisation", "is_staff", "is_active", "last_login"]
    list_select_related = ["membership__organisation"]
    list_filter = ["is_staff", "is_active", "membership__organisation"]

    @admin.display(description="organisation", ordering="membership__organisation__slug")
    def organisation(self, user):
        membership = getattr(user, "membership", None)
        return membership.organisation if membership else "—"


class ApiTokenCreationForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["prefix", "name", "user__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["user", "name"] if obj is None else ["user", "name", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["user", *self.readonly_fields]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        token, raw = create_api_token(user=obj.user, name=obj.name)
        obj.pk = token.pk
        # The raw token exists only now: show it once.
        messages.warning(request, f"New API token (copy it now, it will not be shown again): {raw}")

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        for token in queryset:
            revoke_api_token(token=token)
        self.message_user(request, f"{queryset.count()} token(s) revoked.")


@admin.register(Event)
class EventAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    deletable = False
    list_display = ["organisation", "stream", "sequence", "name", "created_at"]
    list_filter = ["stream", "name", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["name"]
    date_hierarchy = "created_at"


@admin.register(LoginLockout)
class LoginLockoutAdmin(admin.ModelAdmin):
    """Usernames and addresses refused sign-ins after too many failures; clearing one lets it in at once."""

    list_display = ["kind", "value", "failures", "locked_until", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value"]
    actions = ["clear"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Clear the selected lock-outs")
    def clear(self, request, queryset):
        for lockout in queryset:
            clear_lockout(lockout)
        self.message_user(request, f"{len(queryset)} lock-out(s) cleared.", messages.SUCCESS)

"""Shared admin pieces: records operators may read but only services may write."""


class ViewOnlyAdmin:
    """No add and no edit form: the rows change through services (the API, actions, tasks).
    Deleting stays as the ModelAdmin says unless `deletable = False`."""

    deletable = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)

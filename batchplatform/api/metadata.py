from rest_framework.metadata import SimpleMetadata


class DescriptionMetadata(SimpleMetadata):
    """OPTIONS answers with the view's name, description, renderers and parsers. DRF's default
    also builds a form per method from get_queryset/get_serializer, which our views (a service
    per method, several serializers) do not offer: it failed with a 500."""

    def determine_metadata(self, request, view):
        metadata = super().determine_metadata(request, view)
        metadata.pop("actions", None)
        return metadata

    def determine_actions(self, request, view):
        return {}

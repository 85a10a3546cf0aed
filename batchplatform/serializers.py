from rest_framework import serializers

from batchplatform.services import organisation_of


class ConnectedUserSerializer(serializers.Serializer):
    id = serializers.SerializerMethodField()
    username = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    email = serializers.CharField()
    is_staff = serializers.BooleanField()
    organisation_id = serializers.SerializerMethodField()
    workspaces = serializers.SerializerMethodField()

    def get_id(self, user) -> str:
        return str(user.pk)

    def get_organisation_id(self, user) -> str | None:
        organisation = organisation_of(user)
        return str(organisation.pk) if organisation else None

    def get_workspaces(self, user) -> list[dict]:
        organisation = organisation_of(user)
        if organisation is None:
            return []
        return [
            {
                "organisation_id": str(organisation.pk),
                "organisation_slug": organisation.slug,
                "organisation_name": organisation.name,
            }
        ]

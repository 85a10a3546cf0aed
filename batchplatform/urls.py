from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from batchplatform import views

admin.site.site_header = "batchplatform operations"
admin.site.site_title = "batchplatform"
admin.site.index_title = "Operations"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/schema/ui/", SpectacularSwaggerView.as_view(url_name="schema"), name="schema-ui"),
    path("v1/connected_user", views.ConnectedUserView.as_view(), name="connected-user"),
    path("v1/", include("plugins.urls")),
    path("ecc/v1/", include("batches.urls")),
    path("solutions/", include("profiling.urls")),
]

handler400 = "batchplatform.api.errors.handler400"
handler403 = "batchplatform.api.errors.handler403"
handler404 = "batchplatform.api.errors.handler404"
handler500 = "batchplatform.api.errors.handler500"

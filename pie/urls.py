import re

from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.views import serve as serve_static_file
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from social_django import views as social_views

from pie.apps.core import sso
from pie.apps.core import views as core_views

admin.site.site_header = "PIE administration"
admin.site.site_title = "PIE"
# Offers "Sign in with your LMS account" above the password form (pie.apps.core.sso).
admin.site.login_template = "core/admin_login.html"

# social-auth's two views that the round trip through the LMS uses, under the names
# edx-auth-backends and social-auth reverse ("social:begin", "social:complete"); not its
# disconnect views: an LMS account cannot be unlinked from PIE's account.
sign_in_with_the_lms = [
    path("login/<str:backend>/", social_views.auth, name="begin"),
    path("complete/<str:backend>/", social_views.complete, name="complete"),
]

urlpatterns = [
    # PIE has no home page: `make run` and the admin's "View site" send people to the API docs.
    path("", RedirectView.as_view(pattern_name="api-docs"), name="home"),
    path("admin/", admin.site.urls),
    # Staff sign-in through the LMS, at the paths every Open edX IDA uses.
    path("login/", sso.LmsLoginView.as_view(), name="login"),
    path("logout/", sso.LmsLogoutView.as_view(), name="logout"),
    path("", include((sign_in_with_the_lms, "social"), namespace="social")),
    re_path(r"^health/?$", core_views.health, name="health"),
    # edx-drf-extensions' GET /csrf/api/v1/token, which frontend-platform calls before a write.
    path("", include("csrf.urls")),
    path("api/v1/", include(("pie.apps.intents.api.v1.urls", "v1"), namespace="v1")),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="api-schema"),
    re_path(
        r"^api-docs/?$", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"
    ),
]

if settings.PIE_SERVE_STATIC_FILES:
    # `make serve`: gunicorn with DEBUG off and no web server in front, so the admin's CSS
    # and JavaScript come from Django itself (slow, fine on a laptop). Production settings
    # never set this: there a web server or CDN serves STATIC_ROOT at STATIC_URL.
    urlpatterns += [
        re_path(
            rf"^{re.escape(settings.STATIC_URL.lstrip('/'))}(?P<path>.*)$",
            serve_static_file,
            {"insecure": True},
        )
    ]

handler400 = "pie.apps.core.views.bad_request"
handler403 = "pie.apps.core.views.permission_denied"
handler404 = "pie.apps.core.views.page_not_found"
handler500 = "pie.apps.core.views.server_error"

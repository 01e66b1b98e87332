from rest_framework.routers import DefaultRouter

from pie.apps.intents.api.v1.views import ProgramIntentViewSet


class OptionalSlashRouter(DefaultRouter):
    """Every path answers with or without its trailing slash."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.include_root_view = False
router.register("program_intents", ProgramIntentViewSet, basename="program_intents")

urlpatterns = router.urls

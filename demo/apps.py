from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo and load-test data (`seed_demo`, `seed_scale`). The top layer: it may use every
    app's services and models, and no app imports it."""

    name = "demo"

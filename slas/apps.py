from django.apps import AppConfig


class SlasConfig(AppConfig):
    name = "slas"
    verbose_name = "SLAs"

    def ready(self) -> None:
        from slas import services
        from tickets import hooks

        hooks.register(services.sla_on_ticket_change)

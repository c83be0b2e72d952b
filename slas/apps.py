from django.apps import AppConfig


class SlasConfig(AppConfig):
    name = "slas"
    verbose_name = "SLAs"

    def ready(self) -> None:
        from outbox.models import Message
        from outbox.services import register_handler
        from slas import escalations, idle, services
        from tickets import hooks

        hooks.register(services.sla_on_ticket_change)
        hooks.register(idle.idle_on_ticket_change)
        register_handler(Message.Topic.ESCALATION, escalations.escalation_deliver)

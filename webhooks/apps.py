from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outgoing webhooks"

    def ready(self) -> None:
        from outbox.models import Message
        from outbox.services import register_handler
        from servicedesk.config import invalidate_on_change
        from slas import hooks as sla_hooks
        from surveys import hooks as survey_hooks
        from tickets import hooks as ticket_hooks
        from webhooks import delivery, services
        from webhooks.models import WebhookSubscription

        invalidate_on_change(WebhookSubscription)

        ticket_hooks.register(services.webhooks_on_ticket_change)
        sla_hooks.register(services.webhooks_on_sla_events)
        survey_hooks.register(services.webhooks_on_survey_answered)
        register_handler(Message.Topic.WEBHOOK, delivery.webhook_deliver)

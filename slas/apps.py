from django.apps import AppConfig


class SlasConfig(AppConfig):
    name = "slas"
    verbose_name = "SLAs"

    def ready(self) -> None:
        from outbox.models import Message
        from outbox.services import register_handler
        from servicedesk.config import invalidate_on_change
        from slas import escalations, filing, idle, services
        from slas.models import BusinessCalendar, EscalationRule, SlaPolicy
        from tickets import hooks

        invalidate_on_change(SlaPolicy)
        invalidate_on_change(EscalationRule)
        # calendar_for's cache. Intervals and holidays are edited with their calendar
        # (admin inlines), whose save moves its updated_at, which the cache keys by.
        invalidate_on_change(BusinessCalendar)

        hooks.register_filing(filing.sla_on_ticket_filing)
        hooks.register(filing.sla_on_ticket_filed)
        hooks.register(services.sla_on_ticket_change)
        hooks.register(idle.idle_on_ticket_change)
        register_handler(Message.Topic.ESCALATION, escalations.escalation_deliver)

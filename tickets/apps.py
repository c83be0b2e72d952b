from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"
    verbose_name = "Service desk"

    def ready(self) -> None:
        from outbox.models import Message
        from outbox.services import register_handler
        from servicedesk.config import invalidate_on_change
        from tickets import notifications
        from tickets.models import Department, RequestField, RequestType

        invalidate_on_change(RequestType)
        invalidate_on_change(RequestField)
        # A filing moves the counter and the round-robin pointer: not configuration.
        invalidate_on_change(
            Department, except_fields=frozenset({"ticket_sequence", "last_assigned_to"})
        )
        register_handler(Message.Topic.TICKET_EMAIL, notifications.ticket_email_deliver)

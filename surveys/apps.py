from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Satisfaction surveys"

    def ready(self) -> None:
        from outbox.models import Message
        from outbox.services import register_handler
        from surveys import emails, services
        from tickets import hooks

        # Registered after slas (INSTALLED_APPS order): at a resolution the SLA clocks are
        # already met or breached when the invitation takes its snapshot of them.
        hooks.register(services.survey_on_ticket_change)
        register_handler(Message.Topic.SURVEY, emails.survey_email_deliver)

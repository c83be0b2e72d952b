from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge base"

    def ready(self) -> None:
        from knowledge import services
        from tickets import hooks

        # Articles linked in an agent's public reply are recorded on the ticket.
        hooks.register(services.ticket_article_links_from_reply)

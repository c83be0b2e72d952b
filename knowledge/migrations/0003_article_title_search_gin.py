"""A GIN index over the articles' titles alone (PostgreSQL only): search ranks a bounded
set of candidates and takes the title matches first (knowledge/search.py). The
expression is the one Django writes for SearchVector("title", config="english")."""

from django.db import migrations

INDEX = "kb_article_title_search"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON knowledge_article USING gin "
            "(to_tsvector('english'::regconfig, COALESCE(title, '')))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0002_article_search_gin")]

    operations = [migrations.RunPython(create, drop)]

"""The WSGI entry: ``gunicorn app:app`` and ``flask --app app``."""

from maintenant import create_app

app = create_app()

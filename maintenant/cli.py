"""flask commands: API tokens, demo data and the scheduler process."""

import click
from flask import Flask
from flask.cli import with_appcontext

from .errors import DomainError


def register_cli(app: Flask):
    app.cli.add_command(tokens)
    app.cli.add_command(demo)
    app.cli.add_command(scheduler)


@click.group()
def tokens():
    """Create, list and revoke operator API tokens."""


@tokens.command("create")
@click.argument("name")
@click.option("--read-only", is_flag=True, help="The token may only read.")
def create_token_command(name, read_only):
    """Create a token NAME and print it (shown this once only)."""
    from .services.tokens import create_token

    try:
        token, secret = create_token(name, read_only=read_only)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(secret)
    click.echo(f"Token {token.name!r} ({token.scope}) created; it is not shown again.", err=True)


@tokens.command("list")
def list_tokens_command():
    """List tokens (names and scopes; the secrets are not stored)."""
    from .services.tokens import list_tokens

    for token in list_tokens():
        used = token.last_used_at.isoformat() if token.last_used_at else "never"
        click.echo(f"{token.name}\t{token.scope}\tcreated {token.created_at.isoformat()}\t"
                   f"last used {used}")


@tokens.command("revoke")
@click.argument("name")
def revoke_token_command(name):
    """Revoke the token NAME."""
    from .services.tokens import revoke_token

    try:
        revoke_token(name)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Token {name!r} revoked.")


@click.command()
@click.option("--force", is_flag=True, help="Add the demo data even if components exist.")
def demo(force):
    """Fill an empty database with a believable status page."""
    from .services.demo import load_demo

    try:
        summary = load_demo(force=force)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(summary)


@click.command()
@click.option("--interval", default=1.0, show_default=True,
              help="Seconds between two looks for due jobs.")
@click.option("--burst", is_flag=True, help="Queue what is due once, then exit.")
@with_appcontext
def scheduler(interval, burst):
    """Run the scheduler: periodic jobs (housekeeping, the outbox sweep) onto the queues."""
    from .extensions import redis_client
    from .launcher import REDIS_URL_MISSING
    from .scheduler import run_scheduler

    if not redis_client.configured:
        raise click.ClickException(REDIS_URL_MISSING.format(process="scheduler"))
    run_scheduler(redis_client.client, interval=interval, burst=burst)

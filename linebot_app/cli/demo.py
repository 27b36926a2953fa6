"""Running offline: `kairan simulator` (LINE's API and phones in the browser) and `kairan demo`
(everything on this machine). Neither needs the app, so neither builds it."""

from __future__ import annotations

from pathlib import Path

import click

from linebot_app.cli.common import CommandError


@click.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True)
@click.option("--webhook-url", help="Where to POST webhook events (the bot's /callback).")
@click.option(
    "--quota", default=200_000, show_default=True, help="Monthly message quota; -1: unlimited."
)
@click.option("--no-rate-limits", is_flag=True, help="Answer as fast as possible.")
@click.option("--allow-http-media", is_flag=True, help="Accept http:// images (offline demo).")
def simulator_command(
    host: str,
    port: int,
    webhook_url: str | None,
    quota: int,
    no_rate_limits: bool,
    allow_http_media: bool,
) -> None:
    """Run the LINE simulator: LINE's API for the bot, and phones in the browser for people.

    Uses the same LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN as the bot.
    """
    import simulator

    try:
        app = simulator.create_app(
            quota_limit=None if quota < 0 else quota,
            rate_limits_enabled=not no_rate_limits,
            webhook_url=webhook_url,
            allow_http_media=allow_http_media,
        )
    except simulator.SimulatorConfigError as error:
        raise CommandError(str(error)) from None
    click.echo(f"LINE simulator: http://{host}:{port}/")
    simulator.serve(host, port, app)


@click.command("demo")
@click.option("--port", default=8000, show_default=True, help="Port of the web app.")
@click.option("--simulator-port", default=8090, show_default=True, help="Port of the simulator.")
@click.option(
    "--state-dir",
    default="instance",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo keeps its database and generated secrets.",
)
def demo_command(port: int, simulator_port: int, state_dir: Path) -> None:
    """Run everything offline on this machine: SQLite, sample areas, the web app, the LINE
    simulator, the delivery worker and the clock."""
    from linebot_app import demo

    demo.run(state_dir.resolve(), port, simulator_port)

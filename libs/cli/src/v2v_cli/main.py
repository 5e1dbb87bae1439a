"""The ``v2v`` command. Each command group lives in its own module under ``commands``."""

from __future__ import annotations

import typer

from v2v_cli.commands import (
    asyncapi,
    audit,
    chaos,
    compliance,
    demo,
    journey,
    platform,
    rebuild,
    roles,
    schemas,
    stack,
    test,
)

app = typer.Typer(
    name="v2v",
    help="vein2vein developer tools.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(stack.app, name="stack")
app.add_typer(schemas.app, name="schemas")
app.add_typer(audit.app, name="audit")
app.add_typer(asyncapi.app, name="asyncapi")
app.add_typer(journey.app, name="journey")
app.add_typer(roles.app, name="roles")
app.add_typer(compliance.app, name="compliance")
platform.register_top_level(app)
demo.register_top_level(app)
test.register_top_level(app)
rebuild.register_top_level(app)
chaos.register_top_level(app)

if __name__ == "__main__":
    app()

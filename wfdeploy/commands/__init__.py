"""One module per `wfdeploy` verb: each has `add_parser(subparsers)` and `run(args) -> exit code`."""

#: The verbs, in the order `wfdeploy --help` lists them.
VERB_MODULES = (
    "wfdeploy.commands.validate",
    "wfdeploy.commands.render",
    "wfdeploy.commands.verify",
    "wfdeploy.commands.up",
    "wfdeploy.commands.down",
    "wfdeploy.commands.loadtest",
    "wfdeploy.commands.preflight",
    "wfdeploy.commands.promote",
    "wfdeploy.commands.rollback",
    "wfdeploy.commands.cluster",
)

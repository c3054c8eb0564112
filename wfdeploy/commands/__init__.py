"""One module per `wfdeploy` verb: each has `add_parser(subparsers)` and `run(args) -> exit code` (see cli.VERBS)."""

"""One module per `ftsync` subcommand, each with `register(subparsers)`."""

"""Exit codes shared by every `ftsync` subcommand."""

EXIT_OK = 0  # everything selected succeeded
EXIT_FAILED = 1  # some items failed (sync: a job; validate: a file with errors)
EXIT_USAGE = 2  # bad options, bad credentials: one line on stderr, no traceback
EXIT_BUSY = 3  # watch: another watcher already keeps this W&B project in step

"""The ``glimpse-env`` command line: the sub-command table, argument parsing, ``gif`` and ``play``,
and the registry of policy loaders and agents that plugins fill through entry points."""

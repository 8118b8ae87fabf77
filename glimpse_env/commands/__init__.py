"""The ``glimpse-env`` command line: the command table (:mod:`~glimpse_env.commands.cli`), the
registry of agents and commands that plugins fill in-process or through entry points
(:mod:`~glimpse_env.commands.plugins`), policies by name or file and the env they act in
(:mod:`~glimpse_env.commands.policies`), dataclass flags (:mod:`~glimpse_env.commands.cli_args`),
``gif`` and ``play`` (:mod:`~glimpse_env.commands.render_cli`, :mod:`~glimpse_env.commands.play`).
"""

from finemod import ANSWER  # noqa: F401 - needs the fine package at runtime

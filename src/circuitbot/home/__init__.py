"""The App Home: each person's own page in the bot.

``view`` builds a person's Home from the database (UI-agnostic blocks: Slack publishes them as a
Home tab, the shell prints them for ``:home``); ``tab`` remembers who opened it and publishes it
again when something on it changes.
"""

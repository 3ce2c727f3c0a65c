"""The Slack front end: Bolt wiring (app), one interaction's surface, the bot's voice in
channels (poster) and the process that serves it all (server)."""

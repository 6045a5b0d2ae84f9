"""The bots gateway (`sreops gateway`): Slack slash commands and buttons, the Teams bot and the HTTP API."""

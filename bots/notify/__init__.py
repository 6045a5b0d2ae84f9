"""Notifications: messages built from status (Slack Block Kit, Teams Adaptive Cards) and their senders."""

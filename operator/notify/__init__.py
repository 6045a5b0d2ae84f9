"""Notifications: which status transitions are events, and (later modules) how they are delivered once."""

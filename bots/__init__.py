"""sreops bots: notifications and the chat gateway."""

"""Telegram bot channel: webhook mode or long polling (getUpdates with a persisted offset)."""

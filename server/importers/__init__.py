"""Converters from other tools' exports to Switchboard's import records (docs/import.md)."""

"""Dependency injection: ``Provide``, the plans made at App build, signature inspection."""

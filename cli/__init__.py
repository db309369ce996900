"""The ``mockx`` command."""

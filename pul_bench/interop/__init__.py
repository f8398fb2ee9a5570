"""Bridges to other tracking toolkits (got10k), imported only on demand."""

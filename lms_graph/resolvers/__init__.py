"""Resolver functions: read-side queries behind the schema's fields, kept thin."""

"""Adapters: PostgreSQL, local files, codecs, archive streaming, object stores, system."""

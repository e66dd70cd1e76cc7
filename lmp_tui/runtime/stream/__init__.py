"""Batches of raw records and what consumes them: decoding, ecli-compatible text, recordings, stores and queries."""

"""Deterministic, seeded generators of the course's synthetic data (support desk, general corpus)."""

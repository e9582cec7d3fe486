"""Helpers for the fine-tuning course kit: import what you need from the submodules.

    from helpers.runtime import detect_profile
    from helpers.cleaning import clean_tickets
"""

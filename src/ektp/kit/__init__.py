"""Tiny shared helpers: time, errors, pagination."""

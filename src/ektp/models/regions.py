"""ORM models: regions (owner fills in)."""

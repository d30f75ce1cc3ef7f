"""ORM models: population (owner fills in)."""

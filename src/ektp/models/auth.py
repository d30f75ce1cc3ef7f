"""ORM models: auth (owner fills in)."""

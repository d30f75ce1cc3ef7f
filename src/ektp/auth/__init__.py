"""Users, roles, regions, login and API tokens."""

"""The clinic manager's pages: staff, roles, credentials and API tokens."""

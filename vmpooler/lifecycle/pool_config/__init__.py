"""Live pool configuration: changes asked for through the API, and how a pool check applies them."""

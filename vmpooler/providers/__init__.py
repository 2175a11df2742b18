"""VM providers: the contract, the registry and the built-in implementations."""

"""All Redis access lives in this package."""

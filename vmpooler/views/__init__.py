"""Read models: what the API and the CLI show (status, summary, dashboard overview); they change nothing."""

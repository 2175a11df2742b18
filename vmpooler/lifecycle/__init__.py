"""The pool lifecycle as plain functions over the store and the providers."""

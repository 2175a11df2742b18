"""Celery: the app factory, the beat schedule and the (thin) tasks."""

"""``GET /``: the dashboard is the home page."""

from __future__ import annotations

from flask import Blueprint, redirect, request

blueprint = Blueprint("root", __name__)


@blueprint.get("/")
def root():
    """Redirect to the dashboard.
    ---
    responses: {302: Redirect}
    """
    return redirect(request.host_url + "dashboard/", code=302)

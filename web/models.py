"""The trained models page: what ``kgart train`` made and how it measured, read from the
provenance each run recorded in the store's ``models`` graph, the model in use marked.

Read from the store rather than the models folder, so a server on a remote store shows
the same as the command line that trained beside it.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template
from kgart.embeddings.trained import PREFIX, registered_models

from kgart.rdf import graph_name


def models_blueprint() -> Blueprint:
    bp = Blueprint("models", __name__)
    bp.add_url_rule("/models", view_func=models_page)
    return bp


def models_page() -> Response:
    services = current_app.extensions["kgart"]
    models = registered_models(services.store)
    return Response(render_template("models.html", models=models, in_use=services.config.model, prefix=PREFIX,
                                    graph_name=graph_name), mimetype="text/html")

"""The web layer: SPARQL protocol, linked data, JSON API and HTML UI (Flask)."""

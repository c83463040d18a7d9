"""Data, not code: the kgart vocabulary (kgart.ttl), SHACL shapes and the JSON-LD context.

A package only so that ``importlib.resources.files("kgart.ontology")`` finds the
files in an installed wheel and in an editable checkout alike.
"""

"""The JSON API under /api/v1, for the web pages' scripts and for machine clients with a token.

Described by the OpenAPI 3.1 document at /api/v1/openapi.json, which is built from the routes
themselves (``openapi.py``), so the document cannot list a route that does not exist or miss one.
"""

"""The web pages: the staff's admin and dashboard (``/staff``) and the member portal
(``/portal``), server-rendered with Jinja2. Not part of the JSON API (no OpenAPI)."""

"""The HTTP side of nexus (``nexus serve``): alert webhooks now, the dashboard later.

Needs the ``serve`` extra (Starlette and uvicorn)."""

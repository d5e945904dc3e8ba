"""The app: one ASGI application over the fronts, start-up, and uvicorn's protocol."""

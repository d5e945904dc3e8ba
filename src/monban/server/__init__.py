"""The ASGI application: routing, authentication, authorization, audit; nothing else."""

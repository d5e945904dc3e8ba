"""Who is asking and may they: the caller (``Caller``, ``RequestInfo``), the worker's runtime state
and caches, authentication of a signed request, authorization and its condition-key context.

Below ``services`` (every handler needs it), above ``store`` and the pure libraries; knows nothing
of HTTP framing.
"""

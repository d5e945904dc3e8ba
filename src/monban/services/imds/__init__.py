"""The instance metadata service's content: IMDSv2 session tokens, the metadata categories, and
the instance role's credentials (HTTP lives in ``fronts/imds.py``, listeners in ``server/imds.py``)."""

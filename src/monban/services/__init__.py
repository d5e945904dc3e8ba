"""AWS services: each a table from operation name to handler."""

"""AWS wire formats: Query decoding, XML responses and the one error table."""

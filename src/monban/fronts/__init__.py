"""The HTTP fronts: each turns an HTTP request into a service call (route, authenticate, dispatch)
and the result or error back into AWS's HTTP answer. ``query``: IAM and STS (the Query protocol);
``s3``: S3's REST API."""

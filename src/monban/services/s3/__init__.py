"""The S3-compatible object service, guarded by IAM: buckets, objects, multipart uploads, bucket policies."""

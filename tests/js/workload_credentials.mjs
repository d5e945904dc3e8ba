// The AWS SDK for JavaScript v3 taking a workload's credentials from monban, as on EC2 or ECS, then
// asking STS who it is. Run by tests/e2e/test_workload_credentials.py:
//   node workload_credentials.mjs <endpoint> instance|container
// "instance": fromInstanceMetadata (the endpoint in AWS_EC2_METADATA_SERVICE_ENDPOINT, IMDSv2
// token first); "container": fromContainerMetadata (AWS_CONTAINER_CREDENTIALS_FULL_URI and
// AWS_CONTAINER_AUTHORIZATION_TOKEN). Prints one JSON line; exits non-zero on any failure.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { fromContainerMetadata, fromInstanceMetadata } from "@aws-sdk/credential-providers";

const [endpoint, mode] = process.argv.slice(2);
const provider =
  mode === "instance" ? fromInstanceMetadata({ maxRetries: 0 }) : fromContainerMetadata({ maxRetries: 0 });
const fetched = await provider();
const client = new STSClient({ endpoint, region: "us-east-1", credentials: provider, maxAttempts: 1 });
const me = await client.send(new GetCallerIdentityCommand({}));
console.log(
  JSON.stringify({ arn: me.Arn, accessKeyId: fetched.accessKeyId, expiration: fetched.expiration?.toISOString() }),
);

// The AWS SDK for JavaScript v3 taking a workload's credentials from monban, as on EC2 or ECS, then
// asking STS who it is. Run by tests/e2e/test_workload_credentials.py:
//   node workload_credentials.mjs <endpoint> instance|container [rotations]
// "instance": fromInstanceMetadata (the endpoint in AWS_EC2_METADATA_SERVICE_ENDPOINT, IMDSv2
// token first); "container": fromContainerMetadata (AWS_CONTAINER_CREDENTIALS_FULL_URI and
// AWS_CONTAINER_AUTHORIZATION_TOKEN). With [rotations], calls STS until the provider has given
// that many distinct sets (each call must succeed) and reports them. Prints one JSON line; exits
// non-zero on any failure.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { fromContainerMetadata, fromInstanceMetadata } from "@aws-sdk/credential-providers";

const [endpoint, mode, rotations] = process.argv.slice(2);
const source =
  mode === "instance" ? fromInstanceMetadata({ maxRetries: 0 }) : fromContainerMetadata({ maxRetries: 0 });
const keys = [];
const provider = async () => {
  const got = await source();
  if (!keys.includes(got.accessKeyId)) keys.push(got.accessKeyId);
  return got;
};
const fetched = await source();
const client = new STSClient({ endpoint, region: "us-east-1", credentials: provider, maxAttempts: 1 });
const arns = new Set();
const deadline = Date.now() + 120000;
do {
  arns.add((await client.send(new GetCallerIdentityCommand({}))).Arn);
  if (rotations) await new Promise((resolve) => setTimeout(resolve, 250));
} while (rotations && keys.length < Number(rotations) && Date.now() < deadline);
console.log(
  JSON.stringify({
    arn: [...arns][0],
    arns: [...arns],
    keys,
    accessKeyId: fetched.accessKeyId,
    expiration: fetched.expiration?.toISOString(),
  }),
);

// The AWS SDK for JavaScript v3 taking role credentials from a web identity token file, as EKS
// injects it (AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_SESSION_NAME), then asking STS
// who it is. Run by tests/e2e/test_sts_web_identity_chains.py:
//   node web_identity.mjs <endpoint> fromTokenFile|default
// "default" leaves the credentials to the default provider chain (its STS client finds the
// endpoint in AWS_ENDPOINT_URL_STS). Prints one JSON line; exits non-zero on any failure.
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { fromTokenFile } from "@aws-sdk/credential-providers";

const [endpoint, mode] = process.argv.slice(2);
const credentials =
  mode === "fromTokenFile" ? fromTokenFile({ clientConfig: { endpoint, region: "us-east-1" } }) : undefined;
const client = new STSClient({ endpoint, region: "us-east-1", credentials, maxAttempts: 1 });
const me = await client.send(new GetCallerIdentityCommand({}));
console.log(JSON.stringify({ arn: me.Arn, account: me.Account, userId: me.UserId }));

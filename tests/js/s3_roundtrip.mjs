// The AWS SDK for JavaScript v3 against monban's S3, with the credentials in the environment
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). Run by tests/e2e/test_s3_js.py:
//   node s3_roundtrip.mjs <endpoint> <bucket>
// Prints one JSON line of what it saw; exits non-zero on any failure.
import { Readable } from "node:stream";
import {
  S3Client,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
} from "@aws-sdk/client-s3";

const [endpoint, bucket] = process.argv.slice(2);
const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, maxAttempts: 1 });
const seen = {};

const put = await client.send(
  new PutObjectCommand({ Bucket: bucket, Key: "js/hello.txt", Body: "hello from javascript", Metadata: { sdk: "js-v3" } }),
);
seen.putETag = put.ETag;
seen.putChecksumCRC32 = put.ChecksumCRC32 ?? null;

const streamed = Buffer.alloc(200 * 1024, "s");
await client.send(
  new PutObjectCommand({
    Bucket: bucket, Key: "js/streamed.bin", Body: Readable.from([streamed.subarray(0, 100 * 1024), streamed.subarray(100 * 1024)]),
    ContentLength: streamed.length,
  }),
);

const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "js/hello.txt" }));
seen.body = await got.Body.transformToString();
seen.metadata = got.Metadata;
const streamedBack = await client.send(new GetObjectCommand({ Bucket: bucket, Key: "js/streamed.bin" }));
seen.streamedLength = (await streamedBack.Body.transformToByteArray()).length;

const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: "js/hello.txt" }));
seen.contentLength = head.ContentLength;

const part = Buffer.alloc(5 * 1024 * 1024, "p");
const upload = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: "js/multi.bin" }));
const parts = [];
for (const [number, body] of [[1, part], [2, Buffer.from("tail")]]) {
  const answer = await client.send(
    new UploadPartCommand({ Bucket: bucket, Key: "js/multi.bin", UploadId: upload.UploadId, PartNumber: number, Body: body }),
  );
  parts.push({ PartNumber: number, ETag: answer.ETag });
}
const done = await client.send(
  new CompleteMultipartUploadCommand({ Bucket: bucket, Key: "js/multi.bin", UploadId: upload.UploadId, MultipartUpload: { Parts: parts } }),
);
seen.multipartETag = done.ETag;

const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "js/" }));
seen.keys = (listed.Contents ?? []).map((o) => o.Key);

await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: "js/hello.txt" }));
try {
  await client.send(new GetObjectCommand({ Bucket: bucket, Key: "js/hello.txt" }));
  seen.afterDelete = "still there";
} catch (error) {
  seen.afterDelete = error.name;
}
console.log(JSON.stringify(seen));

// Test-only S3-API server (npm @20minutes/s3rver 5.0.0, objects stored as files under the data directory).
// It verifies Signature V4 (a wrong secret gets 403 SignatureDoesNotMatch) for the key pair given here, next to
// its built-in S3RVER/S3RVER pair. Usage: node run.js <port> <data dir> <access key> <secret key>
// Listens on 127.0.0.1 only; the test stops it by PID.
const S3rver = require('@20minutes/s3rver');
const AWSAccount = require('@20minutes/s3rver/lib/models/account');

const [port, directory, accessKey, secretKey] = process.argv.slice(2);
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);
new S3rver({ address: '127.0.0.1', port: Number(port), directory, silent: true })
  .run()
  .then(({ address, port: bound }) => console.log('listening %s:%d', address, bound))
  .catch((error) => { console.error(error); process.exit(1); });

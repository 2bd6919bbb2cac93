#!/usr/bin/env node
// A fake of the two Google endpoints that keyless credentials use, speaking their documented protocols:
//   - the metadata server (GCE_METADATA_HOST): GET .../service-accounts/default/token and .../email,
//     answered only with the header "Metadata-Flavor: Google";
//   - IAM Credentials (SPECTRUM_IAM_CREDENTIALS_ENDPOINT): POST /v1/projects/-/serviceAccounts/EMAIL:signBlob
//     with {"payload": base64}, answered {"keyId", "signedBlob": base64} only for a bearer token this fake
//     issued and only for the account it serves. It signs with the service account's key, as IAM does with
//     its Google-held key, so the result verifies against that key's public half.
// GET /calls reports what was asked, for the test to check that the keyless path really ran.
//
//   node fake_google.js KEY_FILE
// Prints one JSON line {"port"} on stdout when ready; stops when stdin closes.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const key = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const issued = new Set();
const calls = { token: 0, email: 0, signBlob: 0, refused: 0 };
const accountPath = '/computeMetadata/v1/instance/service-accounts/default/';
const signPath = `/v1/projects/-/serviceAccounts/${encodeURIComponent(key.client_email)}:signBlob`;

function answer(response, status, body, type = 'application/json') {
  response.writeHead(status, { 'Content-Type': type });
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function refuse(response, status, message) {
  calls.refused += 1;
  answer(response, status, { error: { code: status, message } });
}

function metadata(request, response, what) {
  if (request.method !== 'GET') return refuse(response, 405, 'metadata is read with GET');
  if (request.headers['metadata-flavor'] !== 'Google') return refuse(response, 403, 'missing Metadata-Flavor');
  if (what === 'email') {
    calls.email += 1;
    return answer(response, 200, key.client_email, 'application/text');
  }
  calls.token += 1;
  const token = `ya29.fake-${crypto.randomBytes(12).toString('hex')}`;
  issued.add(token);
  return answer(response, 200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
}

function signBlob(request, response, body) {
  const auth = request.headers.authorization || '';
  if (!auth.startsWith('Bearer ') || !issued.has(auth.slice(7))) return refuse(response, 401, 'unknown token');
  let payload;
  try {
    payload = JSON.parse(body).payload;
  } catch {
    return refuse(response, 400, 'body is not JSON');
  }
  if (typeof payload !== 'string') return refuse(response, 400, 'payload must be a base64 string');
  calls.signBlob += 1;
  const signature = crypto.sign('sha256', Buffer.from(payload, 'base64'), key.private_key);
  return answer(response, 200, { keyId: key.private_key_id, signedBlob: signature.toString('base64') });
}

const server = http.createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => {
    body += chunk;
  });
  request.on('end', () => {
    const url = request.url.split('?')[0];
    if (url === '/calls') return answer(response, 200, calls);
    if (url === `${accountPath}token`) return metadata(request, response, 'token');
    if (url === `${accountPath}email`) return metadata(request, response, 'email');
    if (url === signPath && request.method === 'POST') return signBlob(request, response, body);
    return refuse(response, 404, `no such endpoint: ${request.method} ${url}`);
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));

#!/usr/bin/env node
// The official Node client (@google-cloud/storage) as a peer of our C++ client in the tests.
//   node peer.js upload BUCKET LOCAL_FILE OBJECT [CONTENT_TYPE]   (needs STORAGE_EMULATOR_HOST)
//   node peer.js download BUCKET OBJECT LOCAL_FILE                (needs STORAGE_EMULATOR_HOST)
//   node peer.js sign KEY_FILE CASES_JSON
//       CASES_JSON: [{bucket, object, method: "GET"|"PUT", timestamp: ISO 8601, expires: seconds,
//                     contentType?}], each signed as V4 with the clock pinned to its timestamp;
//       prints a JSON array of URLs.
'use strict';

const fs = require('fs');
const { Storage } = require('@google-cloud/storage');

async function upload([bucket, local, object, contentType]) {
  const storage = new Storage({ projectId: 'spectrum-test' });
  await storage.bucket(bucket).upload(local, {
    destination: object,
    resumable: false,
    metadata: contentType ? { contentType } : undefined,
  });
}

async function download([bucket, object, local]) {
  const storage = new Storage({ projectId: 'spectrum-test' });
  await storage.bucket(bucket).file(object).download({ destination: local });
}

// The client reads the signing time from Date; pin it per case.
function withPinnedClock(millis, fn) {
  const RealDate = global.Date;
  class PinnedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(millis);
      else super(...args);
    }
    static now() {
      return millis;
    }
  }
  global.Date = PinnedDate;
  return fn().finally(() => {
    global.Date = RealDate;
  });
}

async function sign([keyFile, casesFile]) {
  const storage = new Storage({ keyFilename: keyFile, projectId: 'spectrum-test' });
  const cases = JSON.parse(fs.readFileSync(casesFile, 'utf8'));
  const urls = [];
  for (const c of cases) {
    const millis = Date.parse(c.timestamp);
    const [url] = await withPinnedClock(millis, () =>
      storage
        .bucket(c.bucket)
        .file(c.object)
        .getSignedUrl({
          version: 'v4',
          action: c.method === 'PUT' ? 'write' : 'read',
          expires: millis + c.expires * 1000,
          contentType: c.contentType || undefined,
        }),
    );
    urls.push(url);
  }
  process.stdout.write(JSON.stringify(urls) + '\n');
}

const commands = { upload, download, sign };
const [command, ...args] = process.argv.slice(2);
if (!commands[command]) {
  process.stderr.write('usage: peer.js upload|download|sign ...\n');
  process.exit(2);
}
commands[command](args).catch((error) => {
  process.stderr.write(`peer ${command} failed: ${error && error.message}\n`);
  process.exit(1);
});

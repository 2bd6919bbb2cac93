#!/usr/bin/env node
// Starts the Cloud Storage emulator from firebase-tools in-process, without the firebase CLI (which wants
// Java 21 and downloads a rules-runtime jar). The JSON API routes never consult security rules, so the
// rules runtime is replaced by no-ops. Each instance keeps its blobs in its own folder.
//
//   node emulator.js [--port N] [--project ID]
// Prints one JSON line {"host","port","blobDir"} on stdout when ready. Stops on SIGTERM/SIGINT, or when
// stdin closes (so it never outlives the test that started it).
'use strict';

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const pkg = path.join(__dirname, 'node_modules', 'firebase-tools', 'lib', 'emulator');
const { StorageEmulator } = require(path.join(pkg, 'storage', 'index'));
const { EmulatorRegistry } = require(path.join(pkg, 'registry'));
const { StorageRulesRuntime, StorageRulesIssues } = require(path.join(pkg, 'storage', 'rules', 'runtime'));

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

// No rules runtime: no Java, no download.
StorageRulesRuntime.prototype.start = async function () {};
StorageRulesRuntime.prototype.stop = async function () {};
StorageRulesRuntime.prototype.loadRuleset = async function () {
  return { ruleset: undefined, issues: new StorageRulesIssues() };
};

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// A media upload without name= throws after the 400 has been sent; keep serving.
process.on('uncaughtException', (error) => {
  process.stderr.write(`emulator: ignored uncaught exception: ${error && error.message}\n`);
});

async function main() {
  const host = '127.0.0.1';
  const port = Number(option('port', '0')) || (await freePort());
  const projectId = option('project', 'spectrum-test');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spectrum-gcs-emulator-'));
  const blobDir = path.join(root, 'blobs');
  const rulesFile = path.join(root, 'storage.rules');
  fs.writeFileSync(rulesFile, "rules_version = '2';\nservice firebase.storage { match /b/{bucket}/o { } }\n");

  class IsolatedStorageEmulator extends StorageEmulator {
    getPersistenceTmpDir() {
      return blobDir;
    }
  }
  const emulator = new IsolatedStorageEmulator({
    projectId,
    host,
    port,
    rules: { name: rulesFile, content: fs.readFileSync(rulesFile, 'utf8') },
    auto_download: false,
  });
  await EmulatorRegistry.start(emulator);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await EmulatorRegistry.stop(emulator.getName());
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
      process.exit(0);
    }
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();

  process.stdout.write(JSON.stringify({ host, port, blobDir }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`emulator: failed to start: ${error && error.stack}\n`);
  process.exit(1);
});

// The page served at "/" by `spectrum-master serve`, tested in Debian's chromium (driven by playwright-core)
// against the real service on loopback: upload with progress, master, download and measure; the A/B switch;
// the plots; an API error shown as-is; the API-token flow. Screenshots go to SPECTRUM_WEB_ARTIFACT_DIR.
//
// Environment: SPECTRUM_CLI_PATH (the built spectrum-master, required), SPECTRUM_WEB_NODE_DIR (where setup.sh
// installed node_modules; default: <repo>/build/tests/integration/web/node, setup.sh's default),
// SPECTRUM_WEB_ARTIFACT_DIR (default: a temp folder).
import assert from 'node:assert/strict';
import {spawn, spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs/promises';
import {createRequire} from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {after, before, describe, it} from 'node:test';
import {fileURLToPath} from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeDir = process.env.SPECTRUM_WEB_NODE_DIR || path.join(here, '../../../build/tests/integration/web/node');
const requireFromNodeDir = createRequire(path.join(nodeDir, 'package.json'));
const {chromium} = requireFromNodeDir('playwright-core');

const CLI = process.env.SPECTRUM_CLI_PATH;
const ARTIFACTS = process.env.SPECTRUM_WEB_ARTIFACT_DIR || path.join(os.tmpdir(), 'spectrum-web-artifacts');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                       '--disable-background-networking', '--disable-component-update', '--disable-sync',
                       '--autoplay-policy=no-user-gesture-required'];

const TARGET_LUFS = -16;        // the "Apple Music" preset the test chooses (served by GET /api/presets)
const CEILING_DBTP = -1;        // that preset's true-peak ceiling
const LOUDNESS_TOLERANCE_LU = 0.2;
const TRUE_PEAK_TOLERANCE_DB = 0.2;  // libebur128-style tolerance for a different true-peak meter (ffmpeg's)
const SIGNAL_SECONDS = 20;
const JOB_TIMEOUT_MS = 180000;       // generous: CTest runs other heavy suites on the same 2 cores
const PLOT_WIDTH = 760 - 56 - 16;    // the plots' viewBox width minus plots.js's margins

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function run(command, args) {
  const result = spawnSync(command, args, {encoding: 'utf8', maxBuffer: 64 * 1024 * 1024});
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
  return result;
}

// A 20 s stereo test track around -25 LUFS: decorrelated pink noise plus two tones, faded in over 2 s and 9 dB
// quieter from 15 s to 18 s so the loudness plot has a shape, and steady from 2 s to 15 s, where the A/B level
// comparisons play, so they do not depend on timing.
function makeTestTrack(file) {
  const noise = (seed) => `anoisesrc=color=pink:amplitude=0.2:duration=${SIGNAL_SECONDS}:sample_rate=48000:seed=${seed}`;
  const tone = (hz) => `sine=frequency=${hz}:duration=${SIGNAL_SECONDS}:sample_rate=48000`;
  run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', noise(11), '-f', 'lavfi', '-i', noise(12),
                 '-f', 'lavfi', '-i', tone(110), '-f', 'lavfi', '-i', tone(1760), '-filter_complex',
                 '[2]volume=0.17[low];[3]volume=0.034[high];[low][high]amix=inputs=2:normalize=0,asplit[t1][t2];' +
                 '[0][t1]amix=inputs=2:normalize=0[l];[1][t2]amix=inputs=2:normalize=0[r];' +
                 '[l][r]join=inputs=2:channel_layout=stereo,afade=t=in:st=0:d=2,' +
                 "volume=volume=0.35:enable='between(t,15,18)'[out]",
                 '-map', '[out]', '-c:a', 'pcm_s16le', file]);
}

// EBU R128 integrated loudness and true peak, measured by ffmpeg's ebur128 filter (independent of our meter).
function measureLoudness(file) {
  // aformat gives a 2-channel file without a channel mask a layout; ebur128 would ignore its channels otherwise.
  const {stderr} = run('ffmpeg', ['-nostats', '-hide_banner', '-i', file, '-filter_complex',
                                  'aformat=channel_layouts=mono|stereo,ebur128=peak=true',
                                  '-f', 'null', '-']);
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const integrated = summary.match(/I:\s+(-?[\d.]+) LUFS/);
  const peak = summary.match(/Peak:\s+(-?[\d.]+|-inf) dBFS/);
  assert.ok(integrated && peak, `no ebur128 summary for ${file}:\n${summary}`);
  return {integratedLufs: Number(integrated[1]), truePeakDbtp: Number(peak[1])};
}

// Starts the real service on 127.0.0.1 with an ephemeral port and a fresh data dir.
async function startService(workDir, name, extraEnv = {}) {
  const dataDir = path.join(workDir, `${name}-data`);
  const portFile = path.join(workDir, `${name}.port`);
  await fs.mkdir(dataDir, {recursive: true});
  const env = {...process.env, ...extraEnv};
  for (const key of ['PORT', 'GOOGLE_CLOUD_BUCKET_NAME', 'ALLOWED_ORIGINS']) delete env[key];
  if (!('SPECTRUM_BACKEND_API_TOKEN' in extraEnv)) delete env.SPECTRUM_BACKEND_API_TOKEN;
  const log = await fs.open(path.join(ARTIFACTS, `${name}-service.log`), 'w');
  const child = spawn(CLI, ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir,
                            '--port-file', portFile], {env, stdio: ['ignore', log.fd, log.fd]});
  let exited = null;
  child.on('exit', (code, signal) => { exited = {code, signal}; });
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      for (let i = 0; i < 100 && !exited; ++i) await sleep(100);
      if (!exited) child.kill('SIGKILL');
    }
    await log.close();
  };
  for (let i = 0; i < 300; ++i) {
    if (exited) break;
    const text = await fs.readFile(portFile, 'utf8').catch(() => '');
    const port = Number.parseInt(text, 10);
    if (port > 0) {
      const url = `http://127.0.0.1:${port}`;
      const health = await fetch(`${url}/health`).catch(() => null);
      if (health && health.ok) return {url, stop};
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`the service did not start (${JSON.stringify(exited)}); see ${name}-service.log in ${ARTIFACTS}`);
}

async function openPage(context, url) {
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error.message));
  await page.goto(`${url}/`);
  await page.waitForSelector('#health[data-state="ok"]', {timeout: 10000});
  return page;
}

// Records every change of a stage's state, so the test sees stages that were only briefly active.
async function recordStages(page) {
  await page.evaluate(() => {
    window.stageLog = [];
    new MutationObserver((records) => {
      for (const r of records) window.stageLog.push(`${r.target.dataset.stage}:${r.target.dataset.state || ''}`);
    }).observe(document.querySelector('#stages'), {subtree: true, attributes: true, attributeFilter: ['data-state']});
  });
}

// The answer to POST /api/master-audio as {status, body}: the page asks for server-sent events, whose last event
// carries the plain answer's body (and, for a job that failed, its status); errors before the job are plain.
async function masterAnswer(response) {
  if (!/^text\/event-stream/.test(response.headers()['content-type'] || '')) {
    return {status: response.status(), body: await response.json()};
  }
  const events = (await response.text()).split('\n\n').filter((block) => block.startsWith('event: result'));
  assert.equal(events.length, 1, 'one result event');
  const body = JSON.parse(events[0].split('\n').find((line) => line.startsWith('data:')).slice(5));
  return {status: body.status ?? 200, body, events};
}

async function uploadAndWait(page, file) {
  await page.setInputFiles('#file-input', file);
  await page.waitForFunction(() => /uploaded|failed/.test(document.querySelector('#upload-label').textContent));
}

const numberIn = (text) => Number(text.replace('\u2212', '-').match(/-?[\d.]+/)[0]);

async function medianRmsDb(page, samples = 8) {
  const values = [];
  for (let i = 0; i < samples; ++i) {
    await sleep(100);
    values.push(Number(await page.getAttribute('#player', 'data-rms-db')));
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

describe('the page served at / by spectrum-master serve', () => {
  let workDir;
  let service;
  let context;
  let page;
  let wavFile;
  let masterJson;

  before(async () => {
    assert.ok(CLI, 'SPECTRUM_CLI_PATH must name the built spectrum-master');
    await fs.mkdir(ARTIFACTS, {recursive: true});
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'spectrum-web-'));
    wavFile = path.join(workDir, 'test-track.wav');
    makeTestTrack(wavFile);
    await fs.writeFile(path.join(workDir, 'notes.txt'), 'These are meeting notes, not audio.\n'.repeat(200));
    service = await startService(workDir, 'open');
    context = await chromium.launchPersistentContext(path.join(workDir, 'chromium-profile'), {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, acceptDownloads: true,
      viewport: {width: 1280, height: 900},
    });
  });

  after(async () => {
    await context?.close();
    await service?.stop();
    if (workDir) await fs.rm(workDir, {recursive: true, force: true});
  });

  it('serves the page and its files from the binary', async () => {
    const index = await fetch(`${service.url}/`);
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type'), /^text\/html/);
    assert.match(await index.text(), /<title>Spectrum/);
    const script = await fetch(`${service.url}/app.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get('content-type'), /javascript/);
  });

  it('uploads with progress, masters at the chosen target and downloads a file measuring at that target', async () => {
    page = await openPage(context, service.url);
    const presets = await (await fetch(`${service.url}/api/presets`)).json();
    const apple = presets.presets.find((p) => p.id === 'apple-music');
    assert.equal(apple.targetLoudness, TARGET_LUFS);
    assert.equal(apple.truePeakCeiling, CEILING_DBTP);
    // The page builds its preset buttons from that list.
    await page.waitForSelector('button[data-preset="apple-music"]');
    assert.equal(await page.locator('button[data-preset]').count(), presets.presets.length);
    await page.click('button[data-preset="apple-music"]');
    assert.equal(await page.inputValue('#targetLoudness'), String(TARGET_LUFS));
    assert.equal(await page.getAttribute('button[data-preset="apple-music"]', 'aria-pressed'), 'true');

    await recordStages(page);
    const putDone = page.waitForResponse((r) => r.request().method() === 'PUT');
    await uploadAndWait(page, wavFile);
    const put = await putDone;
    assert.ok(put.status() >= 200 && put.status() < 300, `PUT answered ${put.status()}`);
    assert.match(await page.textContent('#upload-label'), /uploaded/);
    assert.equal(await page.evaluate(() => document.querySelector('#upload-progress').value), 100);
    assert.equal((await page.textContent('#upload-percent')).trim(), '100 %');

    const response = page.waitForResponse((r) => r.url().endsWith('/api/master-audio'), {timeout: JOB_TIMEOUT_MS});
    await page.click('#master-button');
    const masterResponse = await response;
    // The page asks for the job's stages as server-sent events; the last event carries the plain answer.
    assert.match(masterResponse.headers()['content-type'], /^text\/event-stream/);
    const events = (await masterResponse.text()).split('\n\n').filter((block) => block.startsWith('event:'));
    const eventNames = events.map((block) => block.split('\n')[0].slice(7));
    assert.equal(eventNames.at(-1), 'result', eventNames.join(' '));
    masterJson = JSON.parse(events.at(-1).split('\n').find((line) => line.startsWith('data:')).slice(5));
    assert.equal(masterJson.success, true, JSON.stringify(masterJson));
    await page.waitForSelector('#stages li[data-stage="load"][data-state="done"]', {timeout: JOB_TIMEOUT_MS});
    const stageLog = await page.evaluate(() => window.stageLog);
    // Each stage lights when the server starts it, in the server's order, and is done before the next starts.
    const order = ['upload', 'fetch', 'analyse', 'master', 'encode', 'store', 'load'];
    let previousDone = -1;
    for (const stage of order) {
      const active = stageLog.indexOf(`${stage}:active`);
      const done = stageLog.indexOf(`${stage}:done`);
      assert.ok(active > previousDone && done > active, `${stage}: ${stageLog.join(' ')}`);
      previousDone = done;
    }
    assert.ok(stageLog.includes('verify:skipped'), `a WAV needs no verify decode: ${stageLog.join(' ')}`);

    const report = masterJson.report;
    assert.ok(Math.abs(report.output.integratedLufs - TARGET_LUFS) <= LOUDNESS_TOLERANCE_LU,
              `API report: ${report.output.integratedLufs} LUFS`);
    const shownAfter = numberIn(await page.textContent('#report-table tr[data-measure="integrated"] td.after'));
    const shownBefore = numberIn(await page.textContent('#report-table tr[data-measure="integrated"] td.before'));
    assert.ok(Math.abs(shownAfter - report.output.integratedLufs) <= 0.05, `page shows ${shownAfter}`);
    assert.ok(Math.abs(shownBefore - report.input.integratedLufs) <= 0.05, `page shows ${shownBefore}`);
    for (const measure of ['lra', 'true-peak', 'compressor', 'limiter']) {
      assert.match(await page.textContent(`#report-table tr[data-measure="${measure}"] td.after`), /\d/, measure);
    }

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.match(download.suggestedFilename(), /_mastered\.wav$/);
    const downloaded = path.join(workDir, download.suggestedFilename());
    await download.saveAs(downloaded);
    const measured = measureLoudness(downloaded);
    console.log(`input ${report.input.integratedLufs} LUFS -> downloaded master ${measured.integratedLufs} LUFS, ` +
                `${measured.truePeakDbtp} dBTP (ffmpeg ebur128)`);
    assert.ok(Math.abs(measured.integratedLufs - TARGET_LUFS) <= LOUDNESS_TOLERANCE_LU,
              `downloaded file measures ${measured.integratedLufs} LUFS, target ${TARGET_LUFS}`);
    assert.ok(measured.truePeakDbtp <= CEILING_DBTP + TRUE_PEAK_TOLERANCE_DB,
              `downloaded file peaks at ${measured.truePeakDbtp} dBTP, ceiling ${CEILING_DBTP}`);
    assert.deepEqual(page.errors, []);
  });

  it('switches A/B at the same position, and level-matching evens out the levels', async () => {
    assert.ok(masterJson, 'needs the mastered result of the previous test');
    const diffDb = masterJson.report.output.integratedLufs - masterJson.report.input.integratedLufs;
    assert.ok(diffDb > 6, `the test track should be well below the target (difference ${diffDb} dB)`);

    await page.evaluate(() => {
      const seek = document.querySelector('#seek');
      seek.value = '4';
      seek.dispatchEvent(new Event('input'));
    });
    await page.click('#play-button');
    await page.waitForFunction(() => Number(document.querySelector('#player').dataset.positionS) > 4.6);
    assert.equal(await page.getAttribute('#player', 'data-active'), 'original');
    const originalDb = await medianRmsDb(page);

    const before = Number(await page.getAttribute('#player', 'data-position-s'));
    await page.click('#ab-mastered');
    const positions = await page.evaluate(() => {
      const player = document.querySelector('#player');
      return {active: player.dataset.active, pressed: document.querySelector('#ab-mastered').ariaPressed};
    });
    assert.deepEqual(positions, {active: 'mastered', pressed: 'true'});
    await sleep(250);  // let the meter's 170 ms window fill with the new side
    const masteredDb = await medianRmsDb(page);
    const afterSwitch = Number(await page.getAttribute('#player', 'data-position-s'));
    assert.ok(afterSwitch > before && afterSwitch - before < 2.5, `position ${before} s -> ${afterSwitch} s`);
    assert.equal(await page.getAttribute('#player', 'data-playing'), 'true');
    console.log(`A/B: original ${originalDb} dBFS RMS, mastered ${masteredDb} dBFS RMS, report difference ` +
                `${diffDb.toFixed(2)} LU`);
    assert.ok(Math.abs(masteredDb - originalDb - diffDb) <= 2.5,
              `switching to B changed the level by ${(masteredDb - originalDb).toFixed(2)} dB, expected ~${diffDb}`);

    await page.check('#level-match');
    assert.ok(Math.abs(Number(await page.getAttribute('#player', 'data-gain-mastered-db')) + diffDb) <= 0.01);
    assert.match(await page.textContent('#level-match-note'), /mastered is lowered by/);
    await sleep(250);
    const matchedDb = await medianRmsDb(page);
    console.log(`level-matched: mastered ${matchedDb} dBFS RMS`);
    assert.ok(Math.abs(matchedDb - originalDb) <= 2.5, `level-matched B ${matchedDb} vs A ${originalDb}`);

    await page.click('#ab-original');
    assert.equal(await page.getAttribute('#player', 'data-active'), 'original');
    await sleep(250);
    const originalAgainDb = await medianRmsDb(page);
    assert.ok(Math.abs(originalAgainDb - originalDb) <= 1.5, `A again ${originalAgainDb} vs ${originalDb}`);
    await page.click('#play-button');
    assert.equal(await page.getAttribute('#player', 'data-playing'), 'false');
    assert.deepEqual(page.errors, []);
  });

  it('draws the before/after plots from the API series', async () => {
    const plots = masterJson.report.plots;
    const geometry = await page.evaluate(() => {
      const out = {};
      for (const svg of document.querySelectorAll('svg[id$="-plot"]')) {
        out[svg.id] = {};
        for (const p of svg.querySelectorAll('path.series')) {
          const box = p.getBBox();
          out[svg.id][p.dataset.series] = {points: Number(p.dataset.points), length: p.getTotalLength(),
                                           x: box.x, y: box.y, width: box.width, height: box.height};
        }
      }
      return out;
    });
    const finiteCount = (values) => values.filter((v) => typeof v === 'number' && Number.isFinite(v)).length;
    const expectations = {
      'loudness-plot': {before: finiteCount(plots.input.shortTermLufs), after: finiteCount(plots.output.shortTermLufs),
                        minWidth: 0.8 * PLOT_WIDTH},
      'spectrum-plot': {before: finiteCount(plots.input.bandLevelsDb), after: finiteCount(plots.output.bandLevelsDb),
                        minWidth: 0.6 * PLOT_WIDTH},
    };
    for (const [id, expected] of Object.entries(expectations)) {
      for (const series of ['before', 'after']) {
        const g = geometry[id][series];
        assert.ok(g, `${id} has no ${series} path`);
        assert.ok(expected[series] >= 10, `${id} ${series}: the API sent only ${expected[series]} points`);
        assert.equal(g.points, expected[series], `${id} ${series} points`);
        assert.ok(g.width >= expected.minWidth, `${id} ${series} spans ${g.width} of ${PLOT_WIDTH}`);
        assert.ok(g.length >= g.width, `${id} ${series} length ${g.length}`);
        assert.ok(g.x >= 55 && g.x + g.width <= 745 && g.y >= 13 && g.y + g.height <= 261, `${id} ${series} inside`);
      }
      assert.ok(geometry[id].target && geometry[id].target.length > 100, `${id} target curve`);
    }
    // The master is louder, so its loudness curve sits higher (smaller y) than the original's.
    assert.ok(geometry['loudness-plot'].after.y < geometry['loudness-plot'].before.y);
    // The quietest point of the original's curve is drawn in the middle of the quiet passage (15 s to 18 s).
    const quietestS = await page.evaluate(([plotWidth, durationS]) => {
      const d = document.querySelector('#loudness-plot path[data-series="before"]').getAttribute('d');
      const points = [...d.matchAll(/[ML](-?[\d.]+),(-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      const lowest = points.reduce((a, b) => (b[1] > a[1] ? b : a));
      return ((lowest[0] - 56) / plotWidth) * durationS;
    }, [PLOT_WIDTH, SIGNAL_SECONDS]);
    console.log(`quietest short-term point drawn at ${quietestS.toFixed(2)} s`);
    assert.ok(Math.abs(quietestS - 16.5) <= 1.0, `quietest point drawn at ${quietestS} s, expected ~16.5 s`);
    await page.screenshot({path: path.join(ARTIFACTS, 'web-page-result.png'), fullPage: true});
    await page.locator('#result').screenshot({path: path.join(ARTIFACTS, 'web-page-result-section.png')});
  });

  it('shows the API error message for a file that is not audio', async () => {
    const errorPage = await openPage(context, service.url);
    const failed = errorPage.waitForResponse(
        (r) => (r.url().includes('/api/upload-url') && r.status() >= 400) || r.url().endsWith('/api/master-audio'));
    await uploadAndWait(errorPage, path.join(workDir, 'notes.txt'));
    if (!(await errorPage.isDisabled('#master-button'))) await errorPage.click('#master-button');
    const answered = await failed;
    const {status, body} = answered.url().endsWith('/api/master-audio') ? await masterAnswer(answered)
                                                                       : {status: answered.status(),
                                                                          body: await answered.json()};
    const response = {status: () => status};
    assert.equal(body.success, false);
    assert.ok([400, 415, 422].includes(response.status()), `status ${response.status()}: ${body.error}`);
    await errorPage.waitForSelector('#error', {state: 'visible'});
    assert.equal((await errorPage.textContent('#error-message')).trim(), body.error.trim());
    assert.match(await errorPage.textContent('#error-title'), new RegExp(`HTTP ${response.status()}`));
    assert.ok((await errorPage.textContent('#error-hint')).trim().length > 20, 'a hint on what to do next');
    assert.equal(await errorPage.isHidden('#result'), true);
    console.log(`non-audio file: HTTP ${response.status()} "${body.error}"`);
    await errorPage.screenshot({path: path.join(ARTIFACTS, 'web-page-error.png'), fullPage: true});
    assert.deepEqual(errorPage.errors, []);
    await errorPage.close();
  });
});

describe('the reference-track option', () => {
  let workDir;
  let service;
  let context;

  before(async () => {
    await fs.mkdir(ARTIFACTS, {recursive: true});
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'spectrum-web-reference-'));
    makeTestTrack(path.join(workDir, 'test-track.wav'));
    // A louder, brighter reference: stereo white noise around -12.6 LUFS (not the default -14).
    const white = (seed) => `anoisesrc=color=white:amplitude=0.2:duration=10:sample_rate=48000:seed=${seed}`;
    run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', white(3), '-f', 'lavfi', '-i', white(4),
                   '-filter_complex', '[0][1]join=inputs=2:channel_layout=stereo[out]', '-map', '[out]',
                   '-c:a', 'pcm_s16le', path.join(workDir, 'reference.wav')]);
    service = await startService(workDir, 'reference');
    context = await chromium.launchPersistentContext(path.join(workDir, 'chromium-profile'), {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: {width: 1280, height: 900},
    });
  });

  after(async () => {
    await context?.close();
    await service?.stop();
    if (workDir) await fs.rm(workDir, {recursive: true, force: true});
  });

  it('uploads a reference, sends referenceFileName and masters to the reference loudness', async () => {
    const reference = measureLoudness(path.join(workDir, 'reference.wav'));
    const page = await openPage(context, service.url);
    await uploadAndWait(page, path.join(workDir, 'test-track.wav'));
    await page.setInputFiles('#reference-input', path.join(workDir, 'reference.wav'));
    await page.waitForFunction(() => /uploaded/.test(document.querySelector('#reference-label').textContent));
    await page.check('#reference-loudness');
    assert.equal(await page.isDisabled('#targetLoudness'), true);

    const request = page.waitForRequest((r) => r.url().endsWith('/api/master-audio'));
    const response = page.waitForResponse((r) => r.url().endsWith('/api/master-audio'), {timeout: JOB_TIMEOUT_MS});
    await page.click('#master-button');
    const sent = (await request).postDataJSON();
    assert.match(sent.settings.referenceFileName, /^uploads\/[0-9a-f]+\/reference\.wav$/);
    assert.equal('targetLoudness' in sent.settings, false);
    assert.equal('loudnessRange' in sent.settings, false, 'the range setting is off by default');
    const result = (await masterAnswer(await response)).body;
    assert.equal(result.success, true, JSON.stringify(result));
    console.log(`reference ${reference.integratedLufs} LUFS (ffmpeg) -> target ${result.report.targetLoudnessLufs}, ` +
                `master ${result.report.output.integratedLufs} LUFS`);
    assert.ok(Math.abs(result.report.targetLoudnessLufs - reference.integratedLufs) <= 0.2);
    assert.ok(Math.abs(result.report.output.integratedLufs - reference.integratedLufs) <= LOUDNESS_TOLERANCE_LU);
    await page.waitForSelector('#result:not([hidden])', {timeout: JOB_TIMEOUT_MS});
    assert.deepEqual(page.errors, []);
  });

  it('sends loudnessRange only when its switch is on', async () => {
    const page = await openPage(context, service.url);
    assert.equal(await page.isDisabled('#loudnessRange'), true);
    await uploadAndWait(page, path.join(workDir, 'test-track.wav'));
    await page.check('#loudnessRange-enabled');
    assert.equal(await page.isDisabled('#loudnessRange'), false);
    await page.fill('#loudnessRange', '6');
    // The request is what this test checks: answer it here instead of mastering.
    await page.route('**/api/master-audio', (route) => route.fulfill({
      status: 400, contentType: 'application/json', body: JSON.stringify({success: false, error: 'intercepted'}),
    }));
    const request = page.waitForRequest((r) => r.url().endsWith('/api/master-audio'));
    await page.click('#master-button');
    assert.equal((await request).postDataJSON().settings.loudnessRange, 6);
    await page.unroute('**/api/master-audio');
    await page.click('#reset-settings');
    assert.equal(await page.isChecked('#loudnessRange-enabled'), false);
    assert.equal(await page.isDisabled('#loudnessRange'), true);
  });

  it('delivers a bundle: WAV, MP3 and AAC from one job, each downloadable and on target', async () => {
    const page = await openPage(context, service.url);
    await uploadAndWait(page, path.join(workDir, 'test-track.wav'));
    await page.check('#bundle-formats input[value="mp3"]');
    await page.check('#bundle-formats input[value="aac"]');
    const request = page.waitForRequest((r) => r.url().endsWith('/api/master-audio'));
    await page.click('#master-button');
    assert.deepEqual((await request).postDataJSON().settings.outputFormats, ['wav', 'mp3', 'aac']);
    await page.waitForSelector('#stages li[data-stage="load"][data-state="done"]', {timeout: JOB_TIMEOUT_MS});
    const links = await page.$$eval('#deliverables a', (anchors) => anchors.map((a) => ({
      format: a.dataset.format, href: a.href, text: a.parentElement.textContent})));
    assert.deepEqual(links.map((l) => l.format), ['wav', 'mp3', 'aac']);
    for (const link of links) {
      const [download] = await Promise.all([page.waitForEvent('download'),
                                            page.click(`#deliverables a[data-format="${link.format}"]`)]);
      const saved = path.join(workDir, `bundle-${download.suggestedFilename()}`);
      await download.saveAs(saved);
      const measured = measureLoudness(saved);
      console.log(`bundle ${link.format}: ${measured.integratedLufs} LUFS, ${measured.truePeakDbtp} dBTP`);
      assert.ok(Math.abs(measured.integratedLufs - -14) <= 0.2, `${link.format}: ${measured.integratedLufs} LUFS`);
      assert.ok(measured.truePeakDbtp <= CEILING_DBTP + TRUE_PEAK_TOLERANCE_DB, `${link.format}: ${measured.truePeakDbtp}`);
    }
    await page.locator('#result').screenshot({path: path.join(ARTIFACTS, 'web-page-bundle.png')});
    assert.deepEqual(page.errors, []);
  });

  it('falls back to the plain answer when the stream is not available', async () => {
    const page = await openPage(context, service.url);
    await uploadAndWait(page, path.join(workDir, 'test-track.wav'));
    // A proxy that does not pass event streams on: the request reaches the service without the Accept header,
    // so the service runs the job as a plain request and answers JSON.
    let rewritten = 0;
    await page.route('**/api/master-audio', async (route) => {
      const headers = {...route.request().headers()};
      if ((headers.accept || '').includes('text/event-stream')) rewritten += 1;
      delete headers.accept;
      await route.fulfill({response: await route.fetch({headers})});
    });
    await page.click('#master-button');
    await page.waitForSelector('#stages li[data-stage="load"][data-state="done"]', {timeout: JOB_TIMEOUT_MS});
    assert.equal(rewritten, 1, 'the page asked for a stream once, and did not run the job a second time');
    assert.equal(await page.getAttribute('#stages li[data-stage="master"]', 'data-state'), 'done');
    assert.match(await page.textContent('#master-status'), /Done: mastered/);
    await page.unroute('**/api/master-audio');
    assert.deepEqual(page.errors, []);
  });

  it('masters an album of three files: the loudest on target, the others at their distance', async () => {
    const page = await openPage(context, service.url);
    // Three tones 6 dB apart: the album keeps those distances, with the loudest at the default -14 LUFS.
    const files = [];
    for (const [index, volume] of [-12, -18, -24].entries()) {
      const file = path.join(workDir, `album-${index + 1}.wav`);
      run('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=${330 + 110 * index}:duration=8`,
                     '-af', `volume=${volume}dB`, '-ac', '2', '-ar', '44100', file]);
      files.push(file);
    }
    await page.setInputFiles('#album-input', files);
    await page.waitForFunction(() => /3 tracks uploaded/.test(document.querySelector('#album-status').textContent));
    const request = page.waitForRequest((r) => r.url().endsWith('/api/master-album'));
    await page.click('#album-button');
    assert.equal((await request).postDataJSON().tracks.length, 3);
    await page.waitForSelector('#album-table tbody tr[data-track="2"]', {timeout: JOB_TIMEOUT_MS});
    const measured = [];
    for (let index = 0; index < 3; ++index) {
      const [download] = await Promise.all([page.waitForEvent('download'),
                                            page.click(`#album-table tr[data-track="${index}"] a`)]);
      const saved = path.join(workDir, `album-master-${index + 1}.wav`);
      await download.saveAs(saved);
      measured.push(measureLoudness(saved));
    }
    console.log(`album: ${measured.map((m) => `${m.integratedLufs} LUFS / ${m.truePeakDbtp} dBTP`).join(', ')}`);
    assert.ok(Math.abs(measured[0].integratedLufs - -14) <= 0.1, `loudest at ${measured[0].integratedLufs}`);
    assert.ok(Math.abs(measured[0].integratedLufs - measured[1].integratedLufs - 6) <= 0.3);
    assert.ok(Math.abs(measured[1].integratedLufs - measured[2].integratedLufs - 6) <= 0.3);
    for (const m of measured) assert.ok(m.truePeakDbtp <= CEILING_DBTP + TRUE_PEAK_TOLERANCE_DB);
    await page.locator('#album-table').screenshot({path: path.join(ARTIFACTS, 'web-page-album.png')});
    assert.deepEqual(page.errors, []);
  });
});

describe('the page with SPECTRUM_BACKEND_API_TOKEN set', () => {
  const token = randomBytes(18).toString('base64url');
  let workDir;
  let service;
  let context;

  before(async () => {
    await fs.mkdir(ARTIFACTS, {recursive: true});
    workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'spectrum-web-token-'));
    makeTestTrack(path.join(workDir, 'test-track.wav'));
    service = await startService(workDir, 'token', {SPECTRUM_BACKEND_API_TOKEN: token});
    context = await chromium.launchPersistentContext(path.join(workDir, 'chromium-profile'), {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: {width: 1280, height: 900},
    });
  });

  after(async () => {
    await context?.close();
    await service?.stop();
    if (workDir) await fs.rm(workDir, {recursive: true, force: true});
  });

  it('asks for the token on 401, keeps it in sessionStorage only and masters with it', async () => {
    const page = await openPage(context, service.url);
    const authorizations = [];
    page.on('request', (r) => {
      // /api/presets is public (read before a token is typed); every other API call is counted.
      if (r.url().includes('/api/') && !r.url().endsWith('/api/presets')) {
        authorizations.push(r.headers().authorization || '');
      }
    });
    const unauthorized = page.waitForResponse((r) => r.url().endsWith('/api/upload-url') && r.status() === 401);
    await page.setInputFiles('#file-input', path.join(workDir, 'test-track.wav'));
    const body = await (await unauthorized).json();
    await page.waitForSelector('#token-dialog[open]');
    assert.equal((await page.textContent('#error-message')).trim(), body.error.trim());

    await page.fill('#token-input', token);
    await page.click('#token-save');
    await page.waitForFunction(() => /uploaded/.test(document.querySelector('#upload-label').textContent));
    const response = page.waitForResponse((r) => r.url().endsWith('/api/master-audio'), {timeout: JOB_TIMEOUT_MS});
    await page.click('#master-button');
    assert.equal((await response).status(), 200);
    await page.waitForSelector('#result:not([hidden])', {timeout: JOB_TIMEOUT_MS});

    assert.equal(authorizations[0], '');
    assert.ok(authorizations.length >= 3 && authorizations.slice(1).every((a) => a === `Bearer ${token}`),
              JSON.stringify(authorizations.map((a) => a.slice(0, 7))));
    const storage = await page.evaluate(() => ({session: sessionStorage.getItem('spectrum.apiToken'),
                                                local: localStorage.length, cookie: document.cookie}));
    assert.deepEqual(storage, {session: token, local: 0, cookie: ''});
    assert.match(await page.textContent('#token-state'), /set for this session/);
    assert.deepEqual(page.errors, []);
  });
});

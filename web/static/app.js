// Wires the page together: upload -> settings -> master -> listen, read, look, download.
// Every failure ends in the error banner with the API's own message and what to do next: never a blank page.
import {ApiError, checkHealth, fetchBytes, fetchPresets, getToken, hintFor, masterAlbum, masterAudioStream,
  setToken, uploadFile} from './api.js';
import {ABPlayer} from './player.js';
import {drawLoudnessPlot, drawSpectrumPlot} from './plots.js';
import {renderReport} from './report.js';
import {formatNumber, SettingsForm} from './settings.js';

const $ = (selector) => document.querySelector(selector);

const state = {
  file: null,         // the chosen File (kept for playback of the original)
  upload: null,       // {fileName, uploadUrl} once stored on the service
  uploadSerial: 0,    // a newer choice makes an older upload's callbacks stale
  reference: null,
  busy: false,
  pendingRetry: null, // re-run after an API token is entered
};

const settingsForm = new SettingsForm($('#settings-form'));
const player = new ABPlayer($('#player'));

// ---- errors ---------------------------------------------------------------------------------------------

function showError(error, title = 'Something went wrong') {
  const message = error instanceof Error ? error.message : String(error);
  $('#error-title').textContent = error instanceof ApiError && error.status
      ? `${title} (HTTP ${error.status})` : title;
  $('#error-message').textContent = message;
  $('#error-hint').textContent = error.hint || hintFor(error);
  const box = $('#error');
  box.hidden = false;
  box.dataset.status = error instanceof ApiError ? String(error.status) : '';
  box.scrollIntoView({block: 'nearest', behavior: 'smooth'});
}

function hideError() {
  $('#error').hidden = true;
}

$('#error-dismiss').addEventListener('click', hideError);
window.addEventListener('error', (event) => {
  showError(new Error(event.message || 'unknown error'), 'The page hit an unexpected error');
});
window.addEventListener('unhandledrejection', (event) => {
  const reason = event.reason instanceof Error ? event.reason : new Error(String(event.reason));
  showError(reason, 'The page hit an unexpected error');
});

// ---- API token --------------------------------------------------------------------------------------------

function updateTokenState() {
  $('#token-state').textContent = getToken() ? 'set for this session' : 'not set';
}

function openTokenDialog(reason, retry) {
  state.pendingRetry = retry || null;
  if (reason) $('#token-reason').textContent = reason;
  $('#token-input').value = getToken();
  const dialog = $('#token-dialog');
  if (!dialog.open) dialog.showModal();
  $('#token-input').focus();
}

$('#token-button').addEventListener('click', () => openTokenDialog('', null));
$('#token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setToken($('#token-input').value.trim());
  updateTokenState();
  $('#token-dialog').close();
  const retry = state.pendingRetry;
  state.pendingRetry = null;
  if (retry && getToken()) {
    hideError();
    retry();
  }
});
$('#token-cancel').addEventListener('click', () => {
  state.pendingRetry = null;
  $('#token-dialog').close();
});
$('#token-clear').addEventListener('click', () => {
  setToken('');
  $('#token-input').value = '';
  updateTokenState();
});

function handleApiError(error, title, retry) {
  showError(error, title);
  if (error instanceof ApiError && error.status === 401) {
    openTokenDialog(`The service answered: "${error.message}". Enter its API token (SPECTRUM_BACKEND_API_TOKEN); ` +
                    'it is kept in this tab\'s session storage only.', retry);
  }
}

// ---- stages -----------------------------------------------------------------------------------------------

function setStage(name, stageState) {
  const item = document.querySelector(`#stages li[data-stage="${name}"]`);
  if (stageState) item.dataset.state = stageState;
  else delete item.dataset.state;
}

function setStages(names, stageState) {
  for (const name of names) setStage(name, stageState);
}

// The server's stages (docs/api.md) and the page's names for them ('upload' and 'load' are the page's own).
const SERVER_STAGES = ['fetch', 'analyse', 'master', 'encode', 'verify', 'store'];
const PAGE_STAGE = {download: 'fetch', analyse: 'analyse', master: 'master', encode: 'encode', verify: 'verify',
                    upload: 'store'};
const STAGE_WORDS = {fetch: 'fetching the upload', analyse: 'analysing', master: 'mastering', encode: 'encoding',
                     verify: 'verifying the delivered file', store: 'storing the result'};

// A stage event from the job's stream: light the stage when it really starts, show the pass and the progress.
function onServerStage(event, elapsed) {
  const name = PAGE_STAGE[event.stage];
  if (!name) return;
  if (event.state === 'start') setStage(name, 'active');
  if (event.state === 'end') setStage(name, 'done');
  if (name === 'master' && event.pass) $('#master-pass').textContent = ` · pass ${event.pass}`;
  if (typeof event.fraction === 'number') $('#job-progress').value = event.fraction;
  if (event.state !== 'end') setStatus(`Server: ${STAGE_WORDS[name]}${event.pass ? ` (pass ${event.pass})` : ''}, ${elapsed()} s`);
}

function setStatus(text) {
  $('#master-status').textContent = text;
}

function updateMasterButton() {
  $('#master-button').disabled = state.busy || !state.upload;
}

// ---- upload -----------------------------------------------------------------------------------------------

function formatBytes(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} kB`;
  return `${bytes} B`;
}

function showProgress(progress, percentLabel, fraction) {
  const percent = Math.round(fraction * 100);
  progress.value = percent;
  if (percentLabel) percentLabel.textContent = `${percent} %`;
}

async function startUpload(file) {
  hideError();
  const serial = ++state.uploadSerial;
  state.file = file;
  state.upload = null;
  player.stop();
  $('#result').hidden = true;  // the previous result belongs to the previous file
  settingsForm.setInputFileName(file.name);
  updateMasterButton();
  setStages(['upload', ...SERVER_STAGES, 'load'], null);
  setStage('upload', 'active');
  const label = $('#upload-label');
  label.textContent = `${file.name} (${formatBytes(file.size)}): uploading…`;
  showProgress($('#upload-progress'), $('#upload-percent'), 0);
  setStatus('Uploading…');
  try {
    const stored = await uploadFile(file, (fraction) => {
      if (serial === state.uploadSerial) showProgress($('#upload-progress'), $('#upload-percent'), fraction);
    });
    if (serial !== state.uploadSerial) return;
    state.upload = stored;
    setStage('upload', 'done');
    label.textContent = `${file.name} (${formatBytes(file.size)}): uploaded`;
    setStatus('Ready: adjust the settings, then press Master.');
  } catch (error) {
    if (serial !== state.uploadSerial) return;
    setStage('upload', 'failed');
    label.textContent = `${file.name}: upload failed`;
    setStatus('The upload failed.');
    handleApiError(error, 'The upload failed', () => startUpload(file));
  }
  updateMasterButton();
}

$('#file-input').addEventListener('change', (event) => {
  const [file] = event.target.files;
  if (file) startUpload(file);
});

const dropZone = $('#drop-zone');
for (const type of ['dragenter', 'dragover']) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    dropZone.classList.add('dragging');
  });
}
for (const type of ['dragleave', 'drop']) {
  dropZone.addEventListener(type, () => dropZone.classList.remove('dragging'));
}
dropZone.addEventListener('drop', (event) => {
  event.preventDefault();
  const [file] = event.dataTransfer.files;
  if (file) startUpload(file);
});

// ---- reference track ------------------------------------------------------------------------------------

async function startReferenceUpload(file) {
  hideError();
  const label = $('#reference-label');
  state.reference = null;
  settingsForm.setReference(null);
  label.textContent = `${file.name}: uploading…`;
  try {
    const stored = await uploadFile(file, (fraction) => showProgress($('#reference-progress'), null, fraction));
    state.reference = stored;
    settingsForm.setReference(stored.fileName);
    label.textContent = `${file.name}: uploaded`;
    $('#reference-clear').disabled = false;
  } catch (error) {
    label.textContent = `${file.name}: upload failed`;
    handleApiError(error, 'The reference upload failed', () => startReferenceUpload(file));
  }
}

$('#reference-input').addEventListener('change', (event) => {
  const [file] = event.target.files;
  if (file) startReferenceUpload(file);
});
$('#reference-clear').addEventListener('click', () => {
  state.reference = null;
  settingsForm.setReference(null);
  $('#reference-input').value = '';
  $('#reference-label').textContent = 'No reference';
  showProgress($('#reference-progress'), null, 0);
  $('#reference-clear').disabled = true;
});

// ---- master -----------------------------------------------------------------------------------------------

function baseName(url) {
  const path = new URL(url, location.href).pathname;
  return decodeURIComponent(path.split('/').pop() || 'mastered');
}

async function showResult(result) {
  const report = result.report || {};
  renderReport($('#report-table'), $('#report-extra'), $('#warnings'), report, result.processingTime);

  const download = $('#download');
  download.href = result.masteredUrl;
  download.download = baseName(result.masteredUrl);
  $('#download-note').textContent = `${baseName(result.masteredUrl)} · ${report.output?.format || ''}`;
  // A bundle: one link per delivered file, each with its own measured loudness and true peak.
  const list = $('#deliverables');
  list.replaceChildren();
  for (const file of result.deliverables || []) {
    const item = document.createElement('li');
    const link = document.createElement('a');
    link.href = file.masteredUrl;
    link.download = baseName(file.masteredUrl);
    link.dataset.format = file.format;
    link.textContent = `${file.format.toUpperCase()}: ${baseName(file.masteredUrl)}`;
    const figures = document.createElement('span');
    figures.className = 'range-note';
    figures.textContent = ` ${formatNumber(file.integratedLufs)} LUFS · ${formatNumber(file.truePeakDbtp)} dBTP`;
    item.append(link, figures);
    list.append(item);
  }
  list.hidden = !(result.deliverables && result.deliverables.length > 0);

  const plots = report.plots || {};
  $('#result').hidden = false;
  drawLoudnessPlot($('#loudness-plot'), {input: plots.input, output: plots.output, targetLufs: report.targetLoudnessLufs,
                                         durationS: report.input?.durationSeconds});
  drawSpectrumPlot($('#spectrum-plot'), {input: plots.input, output: plots.output, targetCurve: report.targetCurve});

  setStage('load', 'active');
  const [originalBytes, masteredBytes] = await Promise.all([state.file.arrayBuffer(), fetchBytes(result.masteredUrl)]);
  const before = report.input?.integratedLufs;
  const after = report.output?.integratedLufs;
  const diff = Number.isFinite(before) && Number.isFinite(after) ? after - before : 0;
  await player.load(originalBytes, masteredBytes, diff);
  setStage('load', 'done');
}

// The form's settings ({settings}), or null after showing what is wrong and focusing the field.
function collectSettings(hint) {
  const collected = settingsForm.collect();
  if (!collected.error) return collected;
  showError(Object.assign(new Error(collected.error), {hint}), 'Check the settings');
  collected.field?.focus();
  return null;
}

async function master() {
  hideError();
  const collected = collectSettings('Correct the value and press Master again.');
  if (!collected) return;
  state.busy = true;
  updateMasterButton();
  player.stop();
  setStages([...SERVER_STAGES, 'load'], null);
  $('#master-pass').textContent = '';
  $('#job-progress').value = 0;
  const started = performance.now();
  const elapsed = () => ((performance.now() - started) / 1000).toFixed(0);
  setStatus('Mastering on the server: 0 s');
  let streamed = false;  // until the first stage event: a plain answer lights the stages only at the end
  const timer = setInterval(() => {
    if (!streamed) setStatus(`Mastering on the server: ${elapsed()} s`);
  }, 500);
  try {
    const job = {fileName: state.upload.fileName, uploadUrl: state.upload.uploadUrl, settings: collected.settings};
    const result = await masterAudioStream(job, (event) => {
      streamed = true;
      onServerStage(event, elapsed);
    });
    clearInterval(timer);
    for (const name of SERVER_STAGES) {
      const item = document.querySelector(`#stages li[data-stage="${name}"]`);
      // Streamed: a stage never lit was not needed (verify, for a lossless file). Plain: all ran.
      item.dataset.state = item.dataset.state || !streamed ? 'done' : 'skipped';
    }
    $('#job-progress').value = 1;
    setStatus(`Mastered in ${Number(result.processingTime ?? 0).toFixed(1)} s. Loading the result…`);
    await showResult(result);
    setStatus(`Done: mastered in ${Number(result.processingTime ?? 0).toFixed(1)} s (job ${result.jobId ?? '?'}).`);
    $('#result').dataset.jobId = result.jobId ?? '';
    $('#result').scrollIntoView({block: 'start', behavior: 'smooth'});
  } catch (error) {
    clearInterval(timer);
    for (const name of [...SERVER_STAGES, 'load']) {
      const item = document.querySelector(`#stages li[data-stage="${name}"]`);
      if (item.dataset.state === 'active') item.dataset.state = 'failed';
    }
    setStatus('Mastering failed.');
    handleApiError(error, 'Mastering failed', master);
  } finally {
    clearInterval(timer);
    state.busy = false;
    updateMasterButton();
  }
}

$('#master-button').addEventListener('click', master);

// ---- album ------------------------------------------------------------------------------------------------

const album = {tracks: [], busy: false};

function updateAlbumButton() {
  $('#album-button').disabled = album.busy || album.tracks.length < 2 || album.tracks.length > 30;
}

async function uploadAlbum(files) {
  hideError();
  album.tracks = [];
  $('#album-table').hidden = true;
  updateAlbumButton();
  try {
    for (const [index, file] of files.entries()) {
      $('#album-status').textContent = `Uploading ${index + 1} of ${files.length}: ${file.name}…`;
      const stored = await uploadFile(file, () => {});
      album.tracks.push({name: file.name, fileName: stored.fileName});
    }
    $('#album-status').textContent = files.length < 2 ? 'Choose at least two tracks.'
                                                         : `${files.length} tracks uploaded: press Master the album.`;
  } catch (error) {
    album.tracks = [];
    $('#album-status').textContent = 'Upload failed.';
    handleApiError(error, 'Uploading the album failed', () => uploadAlbum(files));
  }
  updateAlbumButton();
}

function albumCell(row, text) {
  const cell = document.createElement('td');
  cell.textContent = text;
  row.append(cell);
  return cell;
}

async function masterTheAlbum() {
  hideError();
  const collected = collectSettings('Correct the value and try again.');
  if (!collected) return;
  // An album takes one format for all and no reference track.
  const settings = {...collected.settings};
  delete settings.outputFormats;
  delete settings.referenceFileName;
  album.busy = true;
  updateAlbumButton();
  const started = performance.now();
  $('#album-status').textContent = `Mastering ${album.tracks.length} tracks as one album…`;
  try {
    const result = await masterAlbum({tracks: album.tracks.map((t) => ({fileName: t.fileName})), settings,
                                      albumMode: $('#album-individual').checked ? 'individual' : 'album'});
    const body = $('#album-table tbody');
    body.replaceChildren();
    for (const [index, track] of result.tracks.entries()) {
      const row = document.createElement('tr');
      row.dataset.track = String(index);
      albumCell(row, album.tracks[index]?.name ?? track.fileName);
      albumCell(row, `${formatNumber(track.report?.input?.integratedLufs)} LUFS`);
      albumCell(row, `${formatNumber(track.report?.output?.integratedLufs)} LUFS`).className = 'after';
      albumCell(row, `${formatNumber(track.report?.output?.truePeakDbtp)} dBTP`);
      const link = document.createElement('a');
      link.href = track.masteredUrl;
      link.download = baseName(track.masteredUrl);
      link.textContent = baseName(track.masteredUrl);
      albumCell(row, '').append(link);
      body.append(row);
    }
    $('#album-table').hidden = false;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    $('#album-status').textContent =
        `Album mastered in ${seconds} s: loudest track at ${formatNumber(result.album?.targetLoudnessLufs)} LUFS` +
        (result.album?.mode === 'individual' ? ', every track on the target.' : ', the rest at their distance.');
  } catch (error) {
    $('#album-status').textContent = 'Mastering the album failed.';
    handleApiError(error, 'Mastering the album failed', masterTheAlbum);
  } finally {
    album.busy = false;
    updateAlbumButton();
  }
}

$('#album-input').addEventListener('change', (event) => uploadAlbum([...event.target.files]));
$('#album-button').addEventListener('click', masterTheAlbum);

// ---- start ------------------------------------------------------------------------------------------------

updateTokenState();
checkHealth()
    .then((health) => {
      const badge = $('#health');
      badge.dataset.state = 'ok';
      badge.textContent = `Service ${health.status || 'up'}${health.version ? ` · v${health.version}` : ''}`;
    })
    .catch((error) => {
      const badge = $('#health');
      badge.dataset.state = 'down';
      badge.textContent = 'Service unreachable';
      showError(error, 'The service does not answer /health');
    });
fetchPresets()
    .then((presets) => settingsForm.setPresets(presets))
    .catch(() => settingsForm.setPresets([]));
document.body.dataset.ready = 'true';

// The service's HTTP API, as this page uses it. Every failure becomes an ApiError carrying the API's own
// message (shown to the user as-is), the HTTP status and, for 429/503, the Retry-After delay.

const TOKEN_KEY = 'spectrum.apiToken';

export class ApiError extends Error {
  constructor(message, status = 0, retryAfterS = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;  // 0 = the request never got an answer
    this.retryAfterS = retryAfterS;
  }
}

// The token lives in sessionStorage only: it is gone when the tab closes and is never written to disk storage
// that outlives the session (localStorage) or sent with unrelated requests (cookies).
export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function authHeaders() {
  const token = getToken();
  return token ? {Authorization: `Bearer ${token}`} : {};
}

function isSameOrigin(url) {
  return new URL(url, location.href).origin === location.origin;
}

function retryAfterOf(headerValue) {
  const seconds = Number.parseInt(headerValue || '', 10);
  return Number.isFinite(seconds) ? seconds : null;
}

// The API answers errors as {"success":false,"error":"..."}; a proxy or the HTTP library may answer with
// plain text or nothing, so fall back to the body text or the status line.
function errorFromBody(status, statusText, bodyText, retryAfterS) {
  let message = '';
  try {
    const json = JSON.parse(bodyText);
    if (json && typeof json.error === 'string') message = json.error;
    else if (json && typeof json.message === 'string') message = json.message;
  } catch {
    message = bodyText.trim().slice(0, 500);
  }
  if (!message) message = `HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  return new ApiError(message, status, retryAfterS);
}

async function postJson(path, body) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: {'Content-Type': 'application/json', ...authHeaders()},
      body: JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(`Cannot reach the service (${err.message})`, 0);
  }
  return jsonAnswer(path, response);
}

// A plain JSON answer: its body, or the ApiError its status or {"success": false} says.
async function jsonAnswer(path, response) {
  const text = await response.text();
  const retryAfterS = retryAfterOf(response.headers.get('Retry-After'));
  if (!response.ok) throw errorFromBody(response.status, response.statusText, text, retryAfterS);
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError(`The service answered ${path} with something that is not JSON`, response.status);
  }
  if (json && json.success === false) throw errorFromBody(response.status, '', text, retryAfterS);
  return json;
}

// A master-audio answer must name the mastered file.
function masteredResult(result) {
  if (!result || typeof result.masteredUrl !== 'string') {
    throw new ApiError('The service reported success without a masteredUrl', 500);
  }
  return result;
}

// The platform presets: [{id, name, targetLoudness, truePeakCeiling, outputFormat?, basis}].
export async function fetchPresets() {
  let response;
  try {
    response = await fetch('/api/presets', {headers: authHeaders()});
  } catch (err) {
    throw new ApiError(`Cannot reach the service (${err.message})`, 0);
  }
  const text = await response.text();
  if (!response.ok) throw errorFromBody(response.status, response.statusText, text, null);
  return JSON.parse(text).presets;
}

export async function checkHealth() {
  const response = await fetch('/health', {cache: 'no-store'});
  if (!response.ok) throw new ApiError(`HTTP ${response.status}`, response.status);
  return response.json();
}

// PUT with XMLHttpRequest, because fetch() cannot report upload progress.
function putWithProgress(url, file, contentType, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('Content-Type', contentType);
    // A signed URL carries its own authorisation; the Bearer token goes only to this service.
    if (isSameOrigin(url)) {
      for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    }
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
      } else {
        reject(errorFromBody(xhr.status, xhr.statusText, xhr.responseText || '',
                             retryAfterOf(xhr.getResponseHeader('Retry-After'))));
      }
    });
    xhr.addEventListener('error', () => reject(new ApiError('The upload failed: the connection was lost', 0)));
    xhr.addEventListener('abort', () => reject(new ApiError('The upload was cancelled', 0)));
    xhr.send(file);
  });
}

// getRandomValues, unlike randomUUID, also works on plain-http hosts other than localhost.
function randomHex(bytes) {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

// Keeps the user's file name (so the download is "song_mastered.wav") inside a folder of its own, so two uploads
// of "song.wav" never overwrite each other. Characters object names forbid become "_".
export function objectNameFor(fileName) {
  const safe = fileName.replace(/[\\/\u0000-\u001f\u007f]/g, '_').replace(/^\.+/, '').trim().slice(-200) || 'audio';
  return `uploads/${randomHex(12)}/${safe}`;
}

// Uploads a File through the upload-URL flow. Resolves to the stored object's name and URL.
export async function uploadFile(file, onProgress) {
  const contentType = file.type || 'application/octet-stream';
  const ticket = await postJson('/api/upload-url', {fileName: objectNameFor(file.name), contentType});
  if (!ticket || typeof ticket.uploadUrl !== 'string' || typeof ticket.fileName !== 'string') {
    throw new ApiError('The service answered /api/upload-url without an uploadUrl and fileName', 500);
  }
  onProgress(0);
  await putWithProgress(ticket.uploadUrl, file, contentType, onProgress);
  return {fileName: ticket.fileName, uploadUrl: ticket.uploadUrl};
}

// One server-sent event block ("event: x\ndata: {...}") -> {event, data}; null for comments and keep-alives.
function parseEvent(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
  }
  if (data.length === 0) return null;
  try {
    return {event, data: JSON.parse(data.join('\n'))};
  } catch {
    return null;
  }
}

// POST /api/master-audio, asking for the job's stages as server-sent events: onStage({stage, state, elapsed,
// fraction?, pass?}) for each as it happens. Errors before the job starts come back as plain HTTP answers, and a
// service or proxy that does not stream answers the plain result, which is taken as it is: a job never runs
// twice. inputUrl is accepted by the API for compatibility and never fetched by it; the signature is left off
// so it does not end up in logs.
export async function masterAudioStream({fileName, uploadUrl, settings}, onStage) {
  const inputUrl = uploadUrl ? uploadUrl.split('?')[0] : '';
  let response;
  try {
    response = await fetch('/api/master-audio', {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'Accept': 'text/event-stream', ...authHeaders()},
      body: JSON.stringify({inputUrl, fileName, settings}),
    });
  } catch (err) {
    throw new ApiError(`Cannot reach the service (${err.message})`, 0);
  }
  const type = response.headers.get('Content-Type') || '';
  if (!type.startsWith('text/event-stream')) {
    // A plain answer: an error before the job started, or a service (or proxy) that does not stream, in which
    // case the job has run and this is its result.
    return masteredResult(await jsonAnswer('/api/master-audio', response));
  }
  let buffer = '';
  let result = null;
  const consume = () => {
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const parsed = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (!parsed) continue;
      if (parsed.event === 'stage') onStage(parsed.data);
      else if (parsed.event === 'result') result = parsed.data;
    }
  };
  if (response.body && typeof response.body.getReader === 'function') {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const {done, value} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      consume();
    }
  } else {
    buffer = await response.text();  // a browser that cannot read as it arrives: the stages come at the end
    consume();
  }
  if (!result) throw new ApiError('The job\'s event stream ended without a result', 502);
  if (result.success === false) {
    throw errorFromBody(result.status ?? 500, '', JSON.stringify(result), null);
  }
  return masteredResult(result);
}

// POST /api/master-album: tracks is [{fileName}], albumMode "album" or "individual".
export async function masterAlbum({tracks, settings, albumMode}) {
  const result = await postJson('/api/master-album', {tracks, settings, albumMode});
  if (!result || !Array.isArray(result.tracks)) {
    throw new ApiError('The service reported success without the album\'s tracks', 500);
  }
  return result;
}

export async function fetchBytes(url) {
  const response = await fetch(url, {headers: isSameOrigin(url) ? authHeaders() : {}});
  if (!response.ok) {
    throw errorFromBody(response.status, response.statusText, await response.text(),
                        retryAfterOf(response.headers.get('Retry-After')));
  }
  return response.arrayBuffer();
}

// What to do next, by status. The API's message says what went wrong; this says how to go on.
export function hintFor(error) {
  const status = error instanceof ApiError ? error.status : -1;
  switch (status) {
    case 0:
      return 'Check that the service is still running and reachable, then try again.';
    case 400:
      return 'Correct the setting or file named in the message and try again.';
    case 401:
      return 'The service needs an API token: choose "API token" at the top right and enter it.';
    case 403:
      return 'The upload link was refused or has expired: choose the file again to get a fresh one.';
    case 404:
      return 'The uploaded file is no longer on the service: choose the file again.';
    case 413:
      return 'The file is over the service\'s size or duration limit: trim it, or export a compressed format ' +
             '(FLAC, or MP3/AAC), and upload again.';
    case 415:
    case 422:
      return 'The service could not decode this file as audio. Choose a WAV, AIFF, FLAC, MP3, AAC, Ogg or Opus ' +
             'file and try again.';
    case 429:
      return `Too many requests: wait ${error.retryAfterS ?? 'a few'} seconds, then try again.`;
    case 503:
      return `The service is busy with other jobs: wait ${error.retryAfterS ?? 'a few'} seconds, then try again.`;
    case 502:
    case 504:
      return 'The service could not reach its storage: try again in a moment.';
    default:
      return status >= 500 ? 'The service hit an internal error: try again; if it persists, check its logs.'
                           : 'Reload the page and try again.';
  }
}

// A/B player: the original and the master play in lockstep from one position, and the A/B switch only moves
// two gains, so both are heard at exactly the same point in the music. "Level-matched" lowers the louder one by
// the measured loudness difference, because listeners otherwise judge "louder" as "better".

const RAMP_S = 0.01;  // gain changes ramp this fast: no click, no audible overlap
const METER_FLOOR_DB = -60;

export function dbToGain(db) {
  return 10 ** (db / 20);
}

function formatClock(s) {
  const minutes = Math.floor(s / 60);
  return `${minutes}:${(s - minutes * 60).toFixed(1).padStart(4, '0')}`;
}

export class ABPlayer {
  constructor(root) {
    this.root = root;
    this.ui = {
      original: root.querySelector('#ab-original'),
      mastered: root.querySelector('#ab-mastered'),
      play: root.querySelector('#play-button'),
      seek: root.querySelector('#seek'),
      position: root.querySelector('#position'),
      levelMatch: root.querySelector('#level-match'),
      levelNote: root.querySelector('#level-match-note'),
      meter: root.querySelector('#meter'),
      meterDb: root.querySelector('#meter-db'),
      note: root.querySelector('#player-note'),
    };
    this.context = null;
    this.buffers = {original: null, mastered: null};
    this.active = 'original';
    this.loudnessDiffDb = 0;  // mastered minus original, LUFS
    this.playing = false;
    this.startedAt = 0;       // context time that corresponds to position 0
    this.offsetS = 0;         // position while paused
    this.sources = [];
    this.timer = null;

    this.ui.original.addEventListener('click', () => this.select('original'));
    this.ui.mastered.addEventListener('click', () => this.select('mastered'));
    this.ui.play.addEventListener('click', () => (this.playing ? this.pause() : this.play()));
    this.ui.seek.addEventListener('input', () => this.seek(Number(this.ui.seek.value)));
    this.ui.levelMatch.addEventListener('change', () => this.applyGains());
  }

  ensureContext() {
    if (!this.context) {
      this.context = new AudioContext();
      this.gains = {original: this.context.createGain(), mastered: this.context.createGain()};
      this.analyser = this.context.createAnalyser();
      this.analyser.fftSize = 8192;
      this.gains.original.connect(this.analyser);
      this.gains.mastered.connect(this.analyser);
      this.analyser.connect(this.context.destination);
      this.meterData = new Float32Array(this.analyser.fftSize);
    }
    return this.context;
  }

  // Decodes both files. A source the browser cannot decode (e.g. AIFF) leaves that side unavailable.
  async load(originalBytes, masteredBytes, loudnessDiffDb) {
    this.stop();
    const context = this.ensureContext();
    this.loudnessDiffDb = Number.isFinite(loudnessDiffDb) ? loudnessDiffDb : 0;
    const decode = async (bytes) => {
      try {
        return await context.decodeAudioData(bytes.slice(0));
      } catch {
        return null;
      }
    };
    [this.buffers.original, this.buffers.mastered] = await Promise.all([decode(originalBytes), decode(masteredBytes)]);
    const missing = Object.entries(this.buffers).filter(([, b]) => !b).map(([name]) => name);
    this.ui.note.textContent = missing.length
        ? `This browser cannot decode the ${missing.join(' and ')} file for playback; download it to listen.`
        : '';
    this.ui.mastered.disabled = !this.buffers.mastered;
    this.ui.original.disabled = !this.buffers.original;
    this.ui.play.disabled = !this.buffers.original && !this.buffers.mastered;
    this.ui.seek.max = String(this.duration());
    this.offsetS = 0;
    this.select(this.buffers.original ? 'original' : 'mastered');
    this.updatePosition();
    return missing.length === 0;
  }

  duration() {
    return Math.max(this.buffers.original?.duration || 0, this.buffers.mastered?.duration || 0);
  }

  position() {
    if (!this.playing) return this.offsetS;
    return Math.min(this.context.currentTime - this.startedAt, this.duration());
  }

  // The louder side is lowered by the loudness difference; the quieter side keeps unity gain.
  matchGains() {
    if (!this.ui.levelMatch.checked) return {original: 1, mastered: 1};
    const diff = this.loudnessDiffDb;
    return diff > 0 ? {original: 1, mastered: dbToGain(-diff)} : {original: dbToGain(diff), mastered: 1};
  }

  applyGains() {
    const match = this.matchGains();
    const diff = this.loudnessDiffDb;
    const louder = diff >= 0 ? 'mastered' : 'original';
    this.ui.levelNote.textContent = this.ui.levelMatch.checked
        ? `The ${louder} is lowered by ${Math.abs(diff).toFixed(1)} dB (the measured loudness difference), ` +
          'so you compare the sound, not the level.'
        : `Not level-matched: the master is ${Math.abs(diff).toFixed(1)} dB ${diff >= 0 ? 'louder' : 'quieter'}.`;
    this.root.dataset.levelMatched = String(this.ui.levelMatch.checked);
    this.root.dataset.gainOriginalDb = (20 * Math.log10(match.original)).toFixed(2);
    this.root.dataset.gainMasteredDb = (20 * Math.log10(match.mastered)).toFixed(2);
    if (!this.context) return;
    const now = this.context.currentTime;
    for (const side of ['original', 'mastered']) {
      const target = side === this.active ? match[side] : 0;
      this.gains[side].gain.cancelScheduledValues(now);
      this.gains[side].gain.setTargetAtTime(target, now, RAMP_S / 3);
    }
  }

  select(side) {
    if (!this.buffers[side]) return;
    this.active = side;
    this.root.dataset.active = side;
    this.ui.original.setAttribute('aria-pressed', String(side === 'original'));
    this.ui.mastered.setAttribute('aria-pressed', String(side === 'mastered'));
    this.applyGains();
  }

  async play() {
    const context = this.ensureContext();
    if (context.state === 'suspended') await context.resume();
    if (this.offsetS >= this.duration() - 0.05) this.offsetS = 0;
    const when = context.currentTime + 0.05;  // both sources start on the same sample frame
    this.sources = [];
    for (const side of ['original', 'mastered']) {
      const buffer = this.buffers[side];
      if (!buffer) continue;
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(this.gains[side]);
      source.start(when, Math.min(this.offsetS, buffer.duration));
      this.sources.push(source);
    }
    this.startedAt = when - this.offsetS;
    this.playing = true;
    this.root.dataset.playing = 'true';
    this.ui.play.textContent = 'Pause';
    this.ui.play.setAttribute('aria-label', 'Pause');
    this.applyGains();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 100);
  }

  stopSources() {
    for (const source of this.sources) {
      try {
        source.stop();
      } catch {
        // already stopped
      }
      source.disconnect();
    }
    this.sources = [];
  }

  pause() {
    if (!this.playing) return;
    this.offsetS = this.position();
    this.stop();
  }

  stop() {
    this.stopSources();
    this.playing = false;
    this.root.dataset.playing = 'false';
    this.ui.play.textContent = 'Play';
    this.ui.play.setAttribute('aria-label', 'Play');
    clearInterval(this.timer);
    this.timer = null;
    this.updateMeter(METER_FLOOR_DB);
    this.updatePosition();
  }

  seek(positionS) {
    const wasPlaying = this.playing;
    if (wasPlaying) this.stop();
    this.offsetS = Math.max(0, Math.min(positionS, this.duration()));
    if (wasPlaying) this.play();
    else this.updatePosition();
  }

  tick() {
    if (this.position() >= this.duration()) {
      this.offsetS = this.duration();
      this.stop();
      return;
    }
    this.updatePosition();
    this.analyser.getFloatTimeDomainData(this.meterData);
    let sum = 0;
    for (const v of this.meterData) sum += v * v;
    const rms = Math.sqrt(sum / this.meterData.length);
    this.updateMeter(rms > 0 ? Math.max(20 * Math.log10(rms), METER_FLOOR_DB) : METER_FLOOR_DB);
  }

  updateMeter(db) {
    this.ui.meter.value = db;
    this.ui.meterDb.textContent = db <= METER_FLOOR_DB ? '−∞ dBFS' : `${db.toFixed(1).replace('-', '\u2212')} dBFS`;
    this.root.dataset.rmsDb = db.toFixed(2);
  }

  updatePosition() {
    const position = this.position();
    this.ui.seek.value = String(position);
    this.ui.position.textContent = `${formatClock(position)} / ${formatClock(this.duration())}`;
    this.root.dataset.positionS = position.toFixed(3);
  }
}

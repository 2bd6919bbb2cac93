// The settings form: every setting of the API with its documented range and default, plus presets.
// Names are the API's (camelCase); src/mastering/settings.h holds the same ranges and defaults.

export const NUMERIC_SETTINGS = [
  {key: 'targetLoudness', label: 'Target loudness', unit: 'LUFS', min: -20, max: -10, step: 0.1, defaultValue: -14,
   note: 'integrated loudness of the master'},
  {key: 'compressionRatio', label: 'Compression ratio', unit: ': 1', min: 1, max: 10, step: 0.1, defaultValue: 4,
   note: '1 = no compression'},
  {key: 'stereoWidth', label: 'Stereo width', unit: '%', min: 0, max: 200, step: 1, defaultValue: 100,
   note: '0 = mono, 100 = unchanged'},
  {key: 'tonalMatch', label: 'Tonal match', unit: '%', min: 0, max: 100, step: 1, defaultValue: 50,
   note: 'how far EQ moves towards the target balance'},
  {key: 'truePeakCeiling', label: 'True-peak ceiling', unit: 'dBTP', min: -9, max: 0, step: 0.1, defaultValue: -1,
   note: 'the limiter never lets true peaks above this'},
  // Optional: sent only when switched on; off, the engine keeps the input's range.
  {key: 'loudnessRange', label: 'Loudness range', unit: 'LU', min: 1, max: 30, step: 0.5, defaultValue: 8,
   note: 'a wider input is levelled towards it', optional: 'Level the range'},
];

// Presets come from the service (GET /api/presets, src/mastering/presets.h): a preset sets the target loudness,
// the true-peak ceiling and, where the platform asks for one, the output format.
const PRESET_KEYS = ['targetLoudness', 'truePeakCeiling'];

const LOSSY_FORMATS = new Set(['mp3', 'aac', 'ogg', 'opus']);
const FORMAT_OF_EXTENSION = {wav: 'wav', aif: 'aiff', aiff: 'aiff', flac: 'flac', mp3: 'mp3', m4a: 'aac', aac: 'aac',
                             ogg: 'ogg', oga: 'ogg', opus: 'opus'};

function formatOfFileName(name) {
  const dot = (name || '').lastIndexOf('.');
  return dot < 0 ? '' : (FORMAT_OF_EXTENSION[name.slice(dot + 1).toLowerCase()] || '');
}
const LOSSY_EXTENSIONS = new Set(['mp3', 'm4a', 'aac', 'ogg', 'oga', 'opus']);

// Typographic minus, so negative numbers read as numbers.
export function formatNumber(value, digits = 1) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  const text = Math.abs(value).toFixed(digits);
  return value < 0 && Number(text) !== 0 ? `\u2212${text}` : text;
}

function describePreset(preset) {
  const format = preset.outputFormat ? ` · ${preset.outputFormat.toUpperCase()}` : '';
  return `${formatNumber(preset.targetLoudness)} LUFS · ${formatNumber(preset.truePeakCeiling)} dBTP${format}`;
}

function el(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

export class SettingsForm {
  constructor(root) {
    this.root = root;
    this.inputs = new Map();  // key -> {range, number}
    this.inputFileName = '';
    this.referenceFileName = null;
    this.buildNumeric(root.querySelector('#numeric-settings'));
    this.presetContainer = document.querySelector('#presets');
    this.presetButtons = [];
    this.eqProfile = root.querySelector('#eqProfile');
    this.outputFormat = root.querySelector('#outputFormat');
    this.bitrate = root.querySelector('#bitrate');
    this.referenceLoudness = root.querySelector('#reference-loudness');
    this.outputFormat.addEventListener('change', () => this.updateBitrateState());
    this.referenceLoudness.addEventListener('change', () => this.updateTargetState());
    root.querySelector('#reset-settings').addEventListener('click', () => this.reset());
    this.updateBitrateState();
    this.updatePresetState();
  }

  buildNumeric(container) {
    for (const spec of NUMERIC_SETTINGS) {
      const field = el('div', {class: 'field', 'data-setting': spec.key});
      const label = el('label', {for: spec.key}, spec.label);
      const row = el('div', {class: 'field-row'});
      const range = el('input', {type: 'range', min: spec.min, max: spec.max, step: spec.step,
                                 value: spec.defaultValue, 'aria-label': `${spec.label} slider`});
      const number = el('input', {type: 'number', id: spec.key, name: spec.key, min: spec.min, max: spec.max,
                                  step: spec.step, value: spec.defaultValue, inputmode: 'decimal'});
      const unit = el('span', {class: 'unit'}, spec.unit);
      const note = el('span', {class: 'range-note'},
                      `${formatNumber(spec.min, 0)} … ${formatNumber(spec.max, 0)} ${spec.unit.trim()},` +
                      ` default ${formatNumber(spec.defaultValue, spec.step < 1 ? 1 : 0)} — ${spec.note}`);
      range.addEventListener('input', () => {
        number.value = range.value;
        this.updatePresetState();
      });
      number.addEventListener('input', () => {
        if (number.value !== '' && Number.isFinite(Number(number.value))) range.value = number.value;
        this.updatePresetState();
      });
      row.append(range, number, unit);
      field.append(label, row, note);
      let enabled = null;
      if (spec.optional) {
        enabled = el('input', {type: 'checkbox', id: `${spec.key}-enabled`});
        const toggle = el('label', {class: 'check'});
        toggle.append(enabled, ` ${spec.optional} (off: the input's range is kept)`);
        enabled.addEventListener('change', () => this.updateOptionalState(spec.key));
        field.append(toggle);
      }
      container.append(field);
      this.inputs.set(spec.key, {range, number, spec, enabled});
      if (enabled) this.updateOptionalState(spec.key);
    }
  }

  // An optional setting's fields follow its switch; collect() leaves disabled fields out of the request.
  updateOptionalState(key) {
    const {range, number, enabled} = this.inputs.get(key);
    range.disabled = !enabled.checked;
    number.disabled = !enabled.checked;
  }

  // `presets`: the service's list; an empty list (or none) says so instead of showing buttons.
  setPresets(presets) {
    this.presetContainer.replaceChildren();
    this.presetButtons = [];
    if (!presets || presets.length === 0) {
      this.presetContainer.append(el('span', {class: 'range-note'}, 'No presets from the service'));
      return;
    }
    for (const preset of presets) {
      const button = el('button', {type: 'button', class: 'preset', 'data-preset': preset.id, 'aria-pressed': 'false',
                                   title: preset.basis || ''});
      button.append(el('span', {class: 'preset-name'}, preset.name),
                    el('span', {class: 'preset-values'}, describePreset(preset)));
      button.addEventListener('click', () => this.applyPreset(preset));
      this.presetContainer.append(button);
      this.presetButtons.push({button, preset});
    }
    this.updatePresetState();
  }

  setValue(key, value) {
    const input = this.inputs.get(key);
    input.number.value = String(value);
    input.range.value = String(value);
  }

  applyPreset(preset) {
    for (const key of PRESET_KEYS) this.setValue(key, preset[key]);
    if (preset.outputFormat) {
      this.outputFormat.value = preset.outputFormat;
      this.updateBitrateState();
    }
    if (this.referenceLoudness.checked) {
      this.referenceLoudness.checked = false;  // a preset names a loudness, so it wins over the reference's
      this.updateTargetState();
    }
    this.updatePresetState();
  }

  updatePresetState() {
    for (const {button, preset} of this.presetButtons) {
      const matches = PRESET_KEYS.every(
                          (key) => Math.abs(Number(this.inputs.get(key).number.value) - preset[key]) < 1e-9) &&
                      (!preset.outputFormat || this.outputFormat.value === preset.outputFormat);
      button.setAttribute('aria-pressed', String(matches));
    }
  }

  reset() {
    for (const spec of NUMERIC_SETTINGS) {
      this.setValue(spec.key, spec.defaultValue);
      const {enabled} = this.inputs.get(spec.key);
      if (enabled) {
        enabled.checked = false;
        this.updateOptionalState(spec.key);
      }
    }
    this.eqProfile.value = 'neutral';
    this.outputFormat.value = '';
    this.bitrate.value = '';
    this.updateBitrateState();
    this.updatePresetState();
  }

  setInputFileName(name) {
    this.inputFileName = name || '';
    this.updateBitrateState();
  }

  setReference(objectName) {
    this.referenceFileName = objectName;
    this.referenceLoudness.disabled = !objectName;
    if (!objectName) this.referenceLoudness.checked = false;
    this.updateTargetState();
  }

  updateTargetState() {
    const fromReference = this.referenceLoudness.checked && Boolean(this.referenceFileName);
    const {range, number} = this.inputs.get('targetLoudness');
    range.disabled = fromReference;
    number.disabled = fromReference;
  }

  // Bitrate applies to lossy output only: the chosen format, or the input's when "same as the input".
  isLossyOutput() {
    const format = this.outputFormat.value;
    if (format) return LOSSY_FORMATS.has(format);
    const extension = this.inputFileName.split('.').pop().toLowerCase();
    return LOSSY_EXTENSIONS.has(extension);
  }

  updateBitrateState() {
    this.bitrate.disabled = !this.isLossyOutput();
  }

  // Returns {settings} or {error} (a message naming the field), checked against the same ranges as the API.
  collect() {
    const settings = {};
    for (const [key, {number, spec}] of this.inputs) {
      if (number.disabled) continue;
      const value = Number(number.value);
      if (number.value === '' || !Number.isFinite(value) || value < spec.min || value > spec.max) {
        return {error: `${spec.label} must be between ${formatNumber(spec.min, 0)} and ${formatNumber(spec.max, 0)}` +
                       ` ${spec.unit.trim()} (got "${number.value}")`, field: number};
      }
      settings[key] = value;
    }
    settings.eqProfile = this.eqProfile.value;
    if (this.outputFormat.value) settings.outputFormat = this.outputFormat.value;
    if (!this.bitrate.disabled && this.bitrate.value !== '') {
      const kbps = Number(this.bitrate.value);
      if (!Number.isInteger(kbps) || kbps < 32 || kbps > 512) {
        return {error: `Bitrate must be a whole number between 32 and 512 kbps (got "${this.bitrate.value}")`,
                field: this.bitrate};
      }
      settings.bitrate = kbps;
    }
    // A bundle: the main format first (the chosen output format, else the input's), then every ticked one.
    const extra = [...document.querySelectorAll('#bundle-formats input:checked')].map((box) => box.value);
    if (extra.length > 0) {
      const main = settings.outputFormat || formatOfFileName(this.inputFileName);
      if (!main) return {error: 'Choose an output format to deliver a bundle', field: this.outputFormat};
      settings.outputFormat = main;
      settings.outputFormats = [main, ...extra.filter((format) => format !== main)];
    }
    if (this.referenceFileName) settings.referenceFileName = this.referenceFileName;
    return {settings};
  }
}

// The report table: the API's before/after measurements and what the chain did, as numbers with units.
import {formatNumber} from './settings.js';

function cell(tag, text, className = '') {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
}

function row(label, before, after, key) {
  const tr = document.createElement('tr');
  tr.dataset.measure = key;
  tr.append(cell('th', label), cell('td', before, 'before'), cell('td', after, 'after'));
  tr.firstChild.setAttribute('scope', 'row');
  return tr;
}

const unit = (value, suffix, digits = 1) => (Number.isFinite(value) ? `${formatNumber(value, digits)} ${suffix}` : '—');

export function renderReport(table, extraList, warningList, report, processingTimeS) {
  const input = report.input || {};
  const output = report.output || {};
  const compressor = report.compressor || {};
  const limiter = report.limiter || {};
  const body = table.tBodies[0];
  body.replaceChildren(
      row('Integrated loudness', unit(input.integratedLufs, 'LUFS'), unit(output.integratedLufs, 'LUFS'), 'integrated'),
      row('Loudness range (LRA)', unit(input.loudnessRangeLu, 'LU'), unit(output.loudnessRangeLu, 'LU'), 'lra'),
      row('True peak', unit(input.truePeakDbtp, 'dBTP'), unit(output.truePeakDbtp, 'dBTP'), 'true-peak'),
      row('Sample peak', unit(input.samplePeakDbfs, 'dBFS'), unit(output.samplePeakDbfs, 'dBFS'), 'sample-peak'),
      row('Compressor gain reduction (max / mean)', '—',
          `${unit(compressor.maxDb, 'dB')} / ${unit(compressor.meanDb, 'dB')}`, 'compressor'),
      row('Limiter gain reduction (max / mean)', '—',
          `${unit(limiter.maxDb, 'dB')} / ${unit(limiter.meanDb, 'dB')}`, 'limiter'),
      row('Format', input.format || '—', output.format || '—', 'format'));

  const extras = [
    `Target loudness ${unit(report.targetLoudnessLufs, 'LUFS')}; make-up gain ${unit(report.gainAppliedDb, 'dB')}` +
        (Number.isFinite(report.loudnessPasses) && report.loudnessPasses > 0 ? ` (${report.loudnessPasses} pass` +
                                                                               `${report.loudnessPasses > 1 ? 'es' : ''})` : ''),
    `${formatNumber(output.durationSeconds ?? input.durationSeconds, 1)} s, ${output.sampleRateHz || '—'} Hz, ` +
        `${output.channels || '—'} channel${output.channels === 1 ? '' : 's'}`,
  ];
  if (report.reference) extras.push(`Reference: ${unit(report.reference.integratedLufs, 'LUFS')} integrated`);
  if (Number.isFinite(processingTimeS)) extras.push(`Processed in ${processingTimeS.toFixed(2)} s on the server`);
  extraList.replaceChildren(...extras.map((text) => cell('li', text)));

  const warnings = Array.isArray(report.warnings) ? report.warnings : [];
  warningList.replaceChildren(...warnings.map((text) => cell('li', `Warning: ${text}`)));
}

// The spec form: fills itself from a job spec, builds a spec from its inputs (only the fields
// that apply to the chosen kinds, leaving the rest to the server's defaults), and shows the
// server's problem+json field errors next to the inputs they name.

const MITIGATION_ORDER = ['clip-norm', 'clip-value', 'batch-norm', 'lr-schedule', 'input-normalization'];

function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k];
  }
  o[keys[keys.length - 1]] = value;
}

function getPath(obj, path) {
  let o = obj;
  for (const k of path.split('.')) {
    if (o === null || typeof o !== 'object') return undefined;
    o = o[k];
  }
  return o;
}

export class SpecForm {
  constructor(form) {
    this.form = form;
    this.errorsBox = form.querySelector('#form-errors');
    this.json = form.querySelector('#spec-json');
    this.useJson = form.querySelector('#use-json');
    form.querySelector('#network-kind').addEventListener('change', () => this.applyVisibility());
    form.querySelector('#init-scheme').addEventListener('change', () => this.applyVisibility());
    form.querySelector('#data-kind').addEventListener('change', () => this.applyVisibility());
    form.querySelector('#form-to-json').addEventListener('click', () => this.syncJsonFromForm());
    form.querySelector('#json-to-form').addEventListener('click', () => {
      try {
        this.setSpec(JSON.parse(this.json.value), { keepJson: true });
      } catch (err) {
        this.showErrors([{ path: '', message: `The JSON does not parse: ${err.message}` }]);
      }
    });
    form.addEventListener('input', (ev) => this.clearErrorFor(ev.target));
    this.applyVisibility();
  }

  /** Inputs that apply to the current kinds (hidden ones are left out of the spec). */
  applicable(el) {
    const label = el.closest('.field');
    return !label?.hidden;
  }

  applyVisibility() {
    const kind = this.form.querySelector('#network-kind').value;
    const scheme = this.form.querySelector('#init-scheme').value;
    const dataKind = this.form.querySelector('#data-kind').value;
    for (const el of this.form.querySelectorAll('[data-kinds]'))
      el.hidden = !el.dataset.kinds.split(' ').includes(kind);
    for (const el of this.form.querySelectorAll('[data-schemes]')) {
      el.hidden = !el.dataset.schemes.split(' ').includes(scheme || (kind ? 'xavier' : ''));
    }
    for (const el of this.form.querySelectorAll('[data-data]')) el.hidden = el.dataset.data !== dataKind;
  }

  /** The spec the form describes (or the JSON editor's, when "Submit the JSON" is ticked). */
  getSpec() {
    if (this.useJson.checked) return JSON.parse(this.json.value);
    const spec = {};
    for (const el of this.form.querySelectorAll('[data-path]')) {
      const path = el.dataset.path;
      if (!path || !this.applicable(el)) continue;
      const raw = el.value.trim();
      if (raw === '') continue;
      let value;
      if (el.dataset.type === 'boolean') value = raw === 'true';
      else if (el.dataset.type === 'numbers')
        value = raw
          .split(/[\s,]+/)
          .filter(Boolean)
          .map(numberOrText);
      else if (el.type === 'number') value = numberOrText(raw);
      else value = raw;
      setPath(spec, path, value);
    }
    // A gain or std without a scheme means nothing: leave the whole init to the server's default.
    if (spec.network?.init && !spec.network.init.scheme) delete spec.network.init;
    // Fields only the JSON editor can express ride along from the last loaded spec.
    const kept = this.loaded ?? {};
    if (spec.network?.init?.scheme === 'explicit' && getPath(kept, 'network.init.scheme') === 'explicit') {
      spec.network.init = { ...kept.network.init };
    }
    if (spec.data?.kind === 'explicit' && getPath(kept, 'data.kind') === 'explicit') spec.data = { ...kept.data };
    spec.mitigations = [];
    const boxes = this.mitigationBoxes();
    for (const box of boxes) {
      const on = box.querySelector('.m-on');
      // Paths are positional (mitigations.0, …): re-derive them on every build so errors land right.
      delete on.dataset.mpath;
      for (const input of box.querySelectorAll('[data-key]')) delete input.dataset.mpath;
      if (!on.checked) continue;
      const index = spec.mitigations.length;
      const m = { kind: box.dataset.mitigation };
      on.dataset.mpath = `mitigations.${index}`;
      for (const input of box.querySelectorAll('[data-key]')) {
        input.dataset.mpath = `mitigations.${index}.${input.dataset.key}`;
        const raw = input.value.trim();
        if (raw === '') continue;
        m[input.dataset.key] = input.type === 'number' ? numberOrText(raw) : raw;
      }
      spec.mitigations.push(m);
    }
    return spec;
  }

  mitigationBoxes() {
    const boxes = [...this.form.querySelectorAll('[data-mitigation]')];
    const order = this.mitigationOrder ?? MITIGATION_ORDER;
    return boxes.sort((a, b) => order.indexOf(a.dataset.mitigation) - order.indexOf(b.dataset.mitigation));
  }

  /** Fills the form from a spec (a preset's or a past job's). */
  setSpec(spec, { keepJson = false } = {}) {
    this.loaded = structuredClone(spec);
    this.clearErrors();
    for (const el of this.form.querySelectorAll('[data-path]')) {
      const path = el.dataset.path;
      if (!path) continue;
      const v = getPath(spec, path);
      if (el.dataset.kindOptions && el.dataset.kindOptions !== spec.network?.kind) continue;
      if (v === undefined || v === null) el.value = '';
      else if (Array.isArray(v)) el.value = v.join(', ');
      else el.value = String(v);
    }
    if (!spec.network?.kind) this.form.querySelector('#network-kind').value = 'linear';
    if (!spec.data?.kind) this.form.querySelector('#data-kind').value = 'synthetic';
    const mitigations = Array.isArray(spec.mitigations) ? spec.mitigations : [];
    const kinds = mitigations.map((m) => m.kind);
    this.mitigationOrder = [...kinds, ...MITIGATION_ORDER.filter((k) => !kinds.includes(k))];
    for (const box of this.form.querySelectorAll('[data-mitigation]')) {
      const m = mitigations.find((x) => x.kind === box.dataset.mitigation);
      box.querySelector('.m-on').checked = Boolean(m);
      for (const input of box.querySelectorAll('[data-key]')) {
        if (m && m[input.dataset.key] !== undefined) input.value = String(m[input.dataset.key]);
        else if (m) input.value = '';
      }
    }
    this.applyVisibility();
    if (!keepJson) this.json.value = JSON.stringify(spec, null, 2);
  }

  syncJsonFromForm() {
    const useJson = this.useJson.checked;
    this.useJson.checked = false;
    this.json.value = JSON.stringify(this.getSpec(), null, 2);
    this.useJson.checked = useJson;
  }

  clearErrors() {
    for (const el of this.form.querySelectorAll('.field-error')) el.remove();
    for (const el of this.form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    this.errorsBox.hidden = true;
    this.errorsBox.textContent = '';
  }

  clearErrorFor(input) {
    const label = input.closest('.field, .mitigation');
    if (!label) return;
    for (const el of label.querySelectorAll('.field-error')) el.remove();
    input.removeAttribute('aria-invalid');
  }

  /** The input a server error path names: the exact field, or the nearest enclosing one. */
  inputFor(path) {
    if (this.useJson.checked) return null;
    const parts = String(path).split('.');
    while (parts.length > 0) {
      const p = parts.join('.');
      const el =
        this.form.querySelector(`[data-mpath="${CSS.escape(p)}"]`) ??
        [...this.form.querySelectorAll(`[data-path="${CSS.escape(p)}"]`)].find((e) => this.applicable(e));
      if (el) return el;
      parts.pop();
    }
    return null;
  }

  /** Shows `[{path, message}]` next to their fields; the rest go to the box at the top. */
  showErrors(errors, title = '') {
    this.clearErrors();
    const unplaced = [];
    for (const err of errors) {
      const path = Array.isArray(err.path) ? err.path.join('.') : String(err.path ?? '');
      const input = path ? this.inputFor(path) : null;
      if (!input) {
        unplaced.push(path ? `${path}: ${err.message}` : err.message);
        continue;
      }
      input.setAttribute('aria-invalid', 'true');
      const msg = document.createElement('span');
      msg.className = 'field-error';
      msg.dataset.errorFor = path;
      msg.textContent =
        input.dataset.path === path || input.dataset.mpath === path ? err.message : `${path}: ${err.message}`;
      const host = input.closest('.field') ?? input.closest('.mitigation') ?? input.parentElement;
      host.append(msg);
    }
    if (unplaced.length > 0 || title) {
      this.errorsBox.hidden = false;
      const head = document.createElement('strong');
      head.textContent = title || 'The server refused the spec:';
      const list = document.createElement('ul');
      for (const text of unplaced) {
        const li = document.createElement('li');
        li.textContent = text;
        list.append(li);
      }
      this.errorsBox.replaceChildren(head, list);
    }
    const first = this.form.querySelector('[aria-invalid="true"]');
    first?.closest('details')?.setAttribute('open', '');
    first?.scrollIntoView({ block: 'center' });
  }
}

// A number when it parses as one, else the text itself, so the server names the field in its error.
function numberOrText(raw) {
  const n = Number(raw);
  return raw !== '' && Number.isFinite(n) ? n : raw;
}

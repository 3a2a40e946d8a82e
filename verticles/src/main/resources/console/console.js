// The operator console: plain DOM, no framework. Everything the admin API returns is operator input and may be
// hostile, so it reaches the page only as text (textContent, attribute values), never as markup.
'use strict';
(() => {
  const TOKEN = 'switchboard.console.token';
  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN);
  let routesTimer = null;
  let served = []; // public model names, from /admin/routes

  /** An element with attributes and children; strings become text nodes, so data is never parsed as HTML. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) { continue; }
      if (k === 'text') { e.textContent = v; } else if (k === 'onclick') { e.addEventListener('click', v); } else { e.setAttribute(k, v); }
    }
    for (const c of children) {
      if (c !== null && c !== undefined) { e.append(c instanceof Node ? c : String(c)); }
    }
    return e;
  }

  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) { e.setAttribute(k, v); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function show(id, message) {
    const e = $(id);
    e.textContent = message || '';
    e.hidden = !message;
  }

  class ApiFailure extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  /** One admin API call with the token; a refused token signs out. */
  async function api(method, path, body) {
    const headers = { authorization: 'Bearer ' + token };
    if (body !== undefined) { headers['content-type'] = 'application/json'; }
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
    } catch (e) {
      throw new ApiFailure(0, 'The node did not answer (' + e.message + ').');
    }
    let json = null;
    try { json = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
      const message = (json && json.error && json.error.message) || ('HTTP ' + response.status);
      if (response.status === 401 && token) {
        signOut('The node refused the admin token; sign in again.');
      }
      throw new ApiFailure(response.status, message);
    }
    return json;
  }

  // ---------- sign-in ----------

  async function signIn(candidate) {
    token = candidate;
    try {
      await api('GET', '/admin/routes');
    } catch (e) {
      // past the token check, a node without routing answers 503: still signed in
      if (e.status >= 500) { return signedIn(candidate); }
      token = null;
      sessionStorage.removeItem(TOKEN);
      $('signin').hidden = false;
      show('signin-error', e.status === 401 ? 'The node refused this admin token.'
        : e.status === 403 ? e.message : 'Could not sign in: ' + e.message);
      $('admin-token').focus();
      return;
    }
    signedIn(candidate);
  }

  function signedIn(candidate) {
    sessionStorage.setItem(TOKEN, candidate);
    show('signin-error', null);
    $('admin-token').value = '';
    $('signin').hidden = true;
    $('console').hidden = false;
    refreshAll();
    clearInterval(routesTimer);
    let ticks = 0;
    routesTimer = setInterval(() => {
      loadRoutes().catch(() => {});
      if (++ticks % 6 === 0 && !document.hidden) { loadUsage(); } // usage every 30 s
    }, 5000);
  }

  function signOut(message) {
    token = null;
    sessionStorage.removeItem(TOKEN);
    clearInterval(routesTimer);
    closeSecret();
    endEdit();
    for (const id of ['keys-table', 'usage-table', 'tenants-table']) { $(id).tBodies[0].replaceChildren(); }
    for (const id of ['chart', 'legend', 'models', 'tenant-names']) { $(id).replaceChildren(); }
    $('console').hidden = true;
    $('signin').hidden = false;
    show('signin-error', message || null);
    $('admin-token').focus();
  }

  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const value = $('admin-token').value.trim();
    if (value) { signIn(value); }
  });
  $('signout').addEventListener('click', () => signOut());

  function refreshAll() {
    loadKeys(); loadTenants(); loadUsage(); loadRoutes().catch(() => {});
  }

  /** Shows a panel's "not available" line when the node has no such API (404), else the error. */
  function panelFailed(panel, e, errorId) {
    const missing = e.status === 404;
    panel.querySelector('.unavailable').hidden = !missing;
    panel.querySelector('.available').hidden = missing;
    if (!missing && e.status !== 401) { show(errorId || 'console-error', e.message); }
  }

  /** Shows a panel's content; errorId, when given, is a load error to clear (not one an action showed). */
  function panelLoaded(panel, errorId) {
    if (errorId) { show(errorId, null); }
    panel.querySelector('.unavailable').hidden = true;
    panel.querySelector('.available').hidden = false;
  }

  // ---------- formatting ----------

  const num = (v) => (v === null || v === undefined ? '—' : Number(v).toLocaleString('en-US'));
  const usd = (v) => (v === null || v === undefined ? '—' : '$' + Number(v).toFixed(Number(v) < 1 ? 4 : 2));
  const when = (v) => (v ? String(v).replace('T', ' ').replace(/\.\d+/, '').replace('Z', ' UTC') : '—');
  const list = (v) => (Array.isArray(v) && v.length ? v.join(', ') : 'all');
  function limits(o) {
    const parts = [];
    if (o.rpm_limit) { parts.push(num(o.rpm_limit) + ' req/min'); }
    if (o.tpm_limit) { parts.push(num(o.tpm_limit) + ' tok/min'); }
    if (o.max_budget !== null && o.max_budget !== undefined) { parts.push(usd(o.max_budget) + ' per ' + (o.budget_duration || 'ever')); }
    return parts.length ? parts.join(' · ') : 'none';
  }

  // ---------- keys ----------

  async function loadKeys() {
    const panel = $('keys');
    let body;
    try {
      body = await api('GET', '/admin/keys');
    } catch (e) {
      panelFailed(panel, e, 'key-error');
      return;
    }
    if (!token) { return; } // signed out meanwhile
    panelLoaded(panel);
    const keys = (body.data || []).filter((k) => !k.revoked);
    const rows = keys.map((k) => el('tr', { 'data-key-id': k.id },
      el('td', { class: 'alias' }, el('div', {}, k.key_alias || '—', k.metadata && Object.keys(k.metadata).length
        ? el('div', { class: 'muted meta', text: JSON.stringify(k.metadata) }) : null)),
      el('td', { class: 'tenant', text: k.tenant || 'default' }),
      el('td', {}, el('code', { class: 'hint', text: k.key_hint || '' })),
      el('td', { text: list(k.models) }),
      el('td', { class: 'limits', text: limits(k) + (k.priority > 0 ? ' · priority ' + k.priority : '') }),
      el('td', { class: 'spend', text: usd(k.spend) }),
      el('td', { text: k.expires ? when(k.expires) : 'never' }),
      el('td', { text: when(k.created_at) }),
      el('td', { class: 'actions' },
        el('button', { type: 'button', class: 'quiet edit', 'aria-label': 'Edit ' + (k.key_alias || k.id),
          text: 'Edit', onclick: () => edit(k) }),
        el('button', { type: 'button', class: 'danger revoke', 'aria-label': 'Revoke ' + (k.key_alias || k.id),
          text: 'Revoke', onclick: () => revoke(k) }))));
    const labels = [...$('keys-table').tHead.rows[0].cells].map((th) => th.textContent);
    for (const row of rows) { [...row.cells].forEach((td, i) => td.setAttribute('data-label', labels[i])); }
    $('keys-table').tBodies[0].replaceChildren(...rows);
    $('keys-table').hidden = rows.length === 0;
    $('keys-empty').hidden = rows.length > 0;
  }

  async function revoke(k) {
    if (!window.confirm('Revoke the key "' + (k.key_alias || k.id) + '"? Calls with it are refused at once.')) { return; }
    try {
      await api('DELETE', '/admin/keys/' + encodeURIComponent(k.id));
      show('key-error', null);
    } catch (e) {
      show('key-error', 'The key was not revoked: ' + e.message);
    }
    loadKeys();
  }

  function optionalNumber(id) {
    const v = $(id).value.trim();
    return v === '' ? undefined : Number(v);
  }

  function modelsOf(id) {
    const v = $(id).value.split(',').map((s) => s.trim()).filter(Boolean);
    return v.length ? v : undefined;
  }

  let editing = null; // the key whose limits the form is changing (PATCH), or null to create one

  /** The form, filled with a key's fields, changes that key; its secret stays what it was. */
  function edit(k) {
    editing = k.id;
    $('key-alias').value = k.key_alias || '';
    $('key-tenant').value = k.tenant || '';
    $('key-models').value = (k.models || []).join(', ');
    $('key-rpm').value = k.rpm_limit ?? '';
    $('key-tpm').value = k.tpm_limit ?? '';
    $('key-budget').value = k.max_budget ?? '';
    $('key-budget-duration').value = k.budget_duration || '';
    $('key-duration').value = '';
    $('key-duration').placeholder = k.expires ? 'until ' + when(k.expires) : 'forever (or 30d)';
    $('key-priority').value = k.priority ?? '';
    $('key-metadata').value = k.metadata && Object.keys(k.metadata).length ? JSON.stringify(k.metadata) : '';
    $('key-form-title').textContent = 'Edit the key ' + (k.key_alias || k.id);
    $('create-key').textContent = 'Save key';
    $('cancel-edit').hidden = false;
    $('new-key').open = true;
    $('key-alias').focus();
  }

  function endEdit() {
    editing = null;
    $('key-form').reset();
    $('key-duration').placeholder = 'forever (or 30d)';
    $('key-form-title').textContent = 'Create a key';
    $('create-key').textContent = 'Create key';
    $('cancel-edit').hidden = true;
  }
  $('cancel-edit').addEventListener('click', () => { endEdit(); $('new-key').open = false; });

  $('key-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    show('key-error', null);
    // when editing, an emptied field clears that limit (null); when creating, it is left out
    const none = editing ? null : undefined;
    const or = (v) => (v === undefined ? none : v);
    const body = {
      key_alias: $('key-alias').value.trim(),
      tenant: $('key-tenant').value.trim() || undefined,
      models: modelsOf('key-models') || (editing ? [] : undefined),
      rpm_limit: or(optionalNumber('key-rpm')),
      tpm_limit: or(optionalNumber('key-tpm')),
      max_budget: or(optionalNumber('key-budget')),
      budget_duration: or($('key-budget-duration').value.trim() || undefined),
      duration: $('key-duration').value.trim() || undefined,
      priority: optionalNumber('key-priority') ?? (editing ? 0 : undefined),
    };
    const metadata = $('key-metadata').value.trim();
    if (metadata) {
      try {
        body.metadata = JSON.parse(metadata);
      } catch (err) {
        show('key-error', 'Metadata must be a JSON object.');
        return;
      }
    } else if (editing) {
      body.metadata = null;
    }
    if (editing) {
      try {
        await api('PATCH', '/admin/keys/' + encodeURIComponent(editing), body);
      } catch (err) {
        show('key-error', 'The key was not changed: ' + err.message);
        return;
      }
      endEdit();
      $('new-key').open = false;
      loadKeys();
      return;
    }
    let created;
    try {
      created = await api('POST', '/admin/keys', body);
    } catch (err) {
      show('key-error', 'The key was not created: ' + err.message);
      return;
    }
    endEdit();
    $('new-key').open = false;
    $('secret-value').textContent = created.key;
    $('secret').hidden = false;
    $('close-secret').focus();
    loadKeys();
  });

  /** The secret exists only in this box's text while it is open; closing drops it. */
  function closeSecret() {
    $('secret-value').textContent = '';
    $('secret').hidden = true;
  }
  $('close-secret').addEventListener('click', closeSecret);
  $('copy-secret').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('secret-value').textContent);
      $('copy-secret').textContent = 'Copied';
    } catch (e) {
      window.getSelection().selectAllChildren($('secret-value'));
    }
    setTimeout(() => { $('copy-secret').textContent = 'Copy'; }, 2000);
  });

  // ---------- tenants (limits) ----------

  async function loadTenants() {
    const panel = $('limits');
    let body;
    try {
      body = await api('GET', '/admin/tenants');
    } catch (e) {
      panelFailed(panel, e, 'tenant-error');
      return;
    }
    if (!token) { return; }
    panelLoaded(panel);
    const tenants = body.data || [];
    $('tenants-table').tBodies[0].replaceChildren(...tenants.map((t) => el('tr', { 'data-tenant': t.name },
      el('td', { class: 'tenant', text: t.name }),
      el('td', { text: list(t.models) }),
      el('td', { text: t.rpm_limit ? num(t.rpm_limit) : '—' }),
      el('td', { text: t.tpm_limit ? num(t.tpm_limit) : '—' }),
      el('td', { text: t.max_budget !== null && t.max_budget !== undefined ? usd(t.max_budget) + ' per ' + (t.budget_duration || 'ever') : '—' }),
      el('td', { text: t.source || '' }))));
    $('tenant-names').replaceChildren(...tenants.map((t) => el('option', { value: t.name })));
  }

  $('tenant-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = $('tenant-name').value.trim();
    const body = {
      models: modelsOf('tenant-models'),
      rpm_limit: optionalNumber('tenant-rpm'),
      tpm_limit: optionalNumber('tenant-tpm'),
      max_budget: optionalNumber('tenant-budget'),
      budget_duration: $('tenant-budget-duration').value.trim() || undefined,
    };
    try {
      await api('PUT', '/admin/tenants/' + encodeURIComponent(name), body);
      show('tenant-error', null);
      $('tenant-form').reset();
      $('tenant-edit').open = false;
    } catch (err) {
      show('tenant-error', 'The tenant was not saved: ' + err.message);
    }
    loadTenants();
  });

  // ---------- usage ----------

  const PALETTE = ['#2f6fed', '#e8710a', '#1e8e3e', '#d93025', '#9334e6', '#12a4af', '#f9ab00', '#795548'];
  const METRIC = {
    requests: { label: 'Requests', of: (r) => r.requests || 0, format: num },
    tokens: { label: 'Tokens (prompt + completion)', of: (r) => (r.prompt_tokens || 0) + (r.completion_tokens || 0), format: num },
    cost_usd: { label: 'Cost (USD)', of: (r) => r.cost_usd || 0, format: usd },
  };
  const MAX_SERIES = PALETTE.length;

  /** A row's name in the legend: a key by its alias (and the end of its id: aliases need not be unique). */
  function seriesName(row, by) {
    if (by !== 'key') { return String(row[by]); }
    const id = String(row.key ?? '—');
    return row.key_alias ? row.key_alias + ' (' + id.slice(-6) + ')' : id;
  }

  function utcDay(date) { return date.toISOString().slice(0, 10); }

  let usageLoad = 0;
  async function loadUsage() {
    const panel = $('usage');
    const by = $('usage-by').value;
    const days = Number($('usage-days').value);
    const metric = METRIC[$('usage-metric').value];
    const today = new Date();
    const from = utcDay(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - days + 1)));
    const load = ++usageLoad;
    let totals;
    let series;
    let note;
    try {
      const grouped = await api('GET', '/admin/usage?group_by=' + by + '&from=' + from);
      totals = grouped.data || [];
      note = grouped.note;
      totals.sort((a, b) => metric.of(b) - metric.of(a) || String(a[by]).localeCompare(String(b[by])));
      const shown = totals.slice(0, MAX_SERIES);
      series = await Promise.all(shown.map(async (t) => ({
        name: seriesName(t, by),
        days: t[by] === null || t[by] === undefined ? [] : ((await api('GET', '/admin/usage?group_by=day&from=' + from
          + '&' + by + '=' + encodeURIComponent(t[by]))).data || []),
      })));
    } catch (e) {
      panelFailed(panel, e);
      return;
    }
    if (load !== usageLoad || !token) { return; } // a newer load started meanwhile, or signed out
    panelLoaded(panel, 'console-error');
    const dayList = [];
    for (let i = 0; i < days; i++) {
      dayList.push(utcDay(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - days + 1 + i))));
    }
    drawChart(dayList, series.map((s, i) => ({
      name: s.name, color: PALETTE[i],
      values: Object.fromEntries(s.days.map((d) => [String(d.day).slice(0, 10), metric.of(d)])),
    })), metric, by);
    if (totals.length > MAX_SERIES) {
      $('chart-caption').textContent += ' (the ' + MAX_SERIES + ' largest of ' + totals.length + ' shown; all in the table)';
    }
    show('usage-note', note ? String(note) : null);
    $('usage-group').textContent = { tenant: 'Tenant', model: 'Model', key: 'Key' }[by];
    $('usage-table').tBodies[0].replaceChildren(...totals.map((t) => el('tr', {},
      el('td', { text: seriesName(t, by) }), el('td', { text: num(t.requests) }), el('td', { text: num(t.prompt_tokens) }),
      el('td', { text: num(t.completion_tokens) }), el('td', { text: num(t.cached_tokens) }), el('td', { text: usd(t.cost_usd) }),
      el('td', { text: num(t.cache_hits) }), el('td', { text: num(t.errors) }))));
  }

  $('usage-form').addEventListener('submit', (e) => { e.preventDefault(); loadUsage(); });
  for (const id of ['usage-by', 'usage-metric', 'usage-days']) { $(id).addEventListener('change', loadUsage); }

  /** A round step for about five ticks up to max. */
  function tickStep(max) {
    const raw = max / 5;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    const n = raw / power;
    return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * power;
  }

  let lastChart = null;
  /** Stacked bars per UTC day, one colour per series, drawn as SVG with both axes labelled. */
  function drawChart(dayList, series, metric, by) {
    lastChart = [dayList, series, metric, by];
    const chart = $('chart');
    const width = Math.max(300, chart.clientWidth || 600);
    const narrow = width < 560;
    const height = narrow ? 220 : 260;
    const m = { left: narrow ? 48 : 64, right: 12, top: 12, bottom: 44 };
    const plotW = width - m.left - m.right;
    const plotH = height - m.top - m.bottom;
    const stacks = dayList.map((d) => series.reduce((sum, s) => sum + (s.values[d] || 0), 0));
    const total = stacks.reduce((a, b) => a + b, 0);
    const step = tickStep(Math.max(...stacks, metric === METRIC.requests || metric === METRIC.tokens ? 5 : 0.0005));
    const top = Math.max(step, Math.ceil(Math.max(...stacks) / step) * step);
    const y = (v) => m.top + plotH - (v / top) * plotH;
    const root = svg('svg', { viewBox: '0 0 ' + width + ' ' + height, width, height, class: 'chart' });
    // y axis: gridlines and labels
    for (let v = 0; v <= top + step / 2; v += step) {
      root.append(svg('line', { x1: m.left, x2: width - m.right, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'gridline' }));
      root.append(svg('text', { x: m.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, metric.format(v)));
    }
    root.append(svg('text', { x: 12, y: m.top + plotH / 2, 'text-anchor': 'middle', class: 'axis-title',
      transform: 'rotate(-90 12 ' + (m.top + plotH / 2) + ')' }, metric.label));
    // x axis: one slot per day, labels thinned to fit
    const slot = plotW / dayList.length;
    const every = Math.ceil(dayList.length / Math.max(1, Math.floor(plotW / (narrow ? 44 : 56))));
    dayList.forEach((d, i) => {
      const x = m.left + i * slot;
      if (i % every === 0 || i === dayList.length - 1 && dayList.length <= 7) {
        root.append(svg('text', { x: x + slot / 2, y: m.top + plotH + 16, 'text-anchor': 'middle', class: 'tick' }, d.slice(5)));
      }
      let base = 0;
      for (const s of series) {
        const v = s.values[d] || 0;
        if (v <= 0) { continue; }
        const bar = svg('rect', { x: x + slot * 0.15, width: Math.max(1, slot * 0.7), y: y(base + v),
          height: Math.max(1, y(base) - y(base + v)), fill: s.color, 'data-series': s.name, 'data-day': d, 'data-value': v });
        bar.append(svg('title', {}, s.name + ', ' + d + ': ' + metric.format(v)));
        root.append(bar);
        base += v;
      }
    });
    root.append(svg('text', { x: m.left + plotW / 2, y: height - 6, 'text-anchor': 'middle', class: 'axis-title' }, 'Day (UTC)'));
    chart.replaceChildren(root);
    $('chart-caption').textContent = metric.label + ' per day by ' + by + ', last ' + dayList.length + ' days: '
      + (total ? metric.format(total) + ' in all' : 'nothing recorded');
    $('legend').replaceChildren(...series.map((s) => el('li', { 'data-series': s.name },
      el('span', { class: 'swatch swatch-' + PALETTE.indexOf(s.color), 'aria-hidden': 'true' }), s.name)));
  }

  let resizeTimer = null;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { if (lastChart && !$('console').hidden) { drawChart(...lastChart); } }, 150);
  });

  // ---------- deployments and the degrade switch ----------

  const BREAKER = { closed: 'closed', half_open: 'half-open (probing)', open: 'open' };

  async function loadRoutes() {
    let body;
    try {
      body = await api('GET', '/admin/routes');
    } catch (e) {
      if (token && (e.status === 404 || e.status === 503)) {
        $('models').replaceChildren(el('p', { class: 'muted', text: 'Deployments are not available on this node: '
          + e.message }));
      }
      throw e;
    }
    if (!token) { return; }
    const models = body.models || {};
    served = Object.keys(models);
    const open = new Set([...document.querySelectorAll('#models select')].filter((s) => s === document.activeElement)
      .map((s) => s.dataset.model));
    $('models').replaceChildren(...served.map((name) => modelCard(name, models[name], open.has(name))));
  }

  function modelCard(name, route, keepFocus) {
    const degraded = route.degraded_to;
    const rows = (route.deployments || []).map((d) => {
      const resting = d.resting_ms > 0;
      const breaker = d.breaker ? BREAKER[d.breaker] || d.breaker : (resting ? 'open' : 'closed');
      const health = resting ? 'resting ' + Math.ceil(d.resting_ms / 1000) + ' s' : 'healthy';
      return el('tr', { 'data-deployment': d.id },
        el('td', { text: d.id }),
        el('td', { class: 'health ' + (resting ? 'bad' : 'good'), text: health }),
        el('td', { class: 'breaker ' + (breaker === 'closed' ? 'good' : 'bad'), text: breaker }),
        el('td', { text: num(d.outstanding) }),
        el('td', { text: d.ewma_first_token_ms === null || d.ewma_first_token_ms === undefined ? '—' : d.ewma_first_token_ms + ' ms' }));
    });
    const switchRow = el('div', { class: 'degrade' });
    if (degraded) {
      switchRow.append(el('span', { class: 'bad status', text: 'Degraded: traffic goes to ' + degraded }),
        el('button', { type: 'button', class: 'restore', text: 'Restore', 'aria-label': 'Restore ' + name,
          onclick: () => degrade(name, null) }));
    } else {
      const others = served.filter((m) => m !== name);
      const select = el('select', { 'aria-label': 'Degrade ' + name + ' to', 'data-model': name },
        ...others.map((m) => el('option', { value: m, text: m })));
      switchRow.append(el('span', { class: 'good status', text: 'Not degraded' }), el('span', { class: 'muted', text: '· degrade to' }), select,
        el('button', { type: 'button', class: 'danger degrade-button', text: 'Degrade', 'aria-label': 'Degrade ' + name,
          disabled: others.length === 0 ? 'disabled' : null, onclick: () => degrade(name, select.value) }));
      if (keepFocus) { setTimeout(() => select.focus(), 0); }
    }
    return el('article', { class: 'model', 'data-model': name },
      el('h3', { text: name }),
      el('p', { class: 'muted', text: 'Strategy ' + (route.strategy || '—') + ' · fallbacks ' + ((route.fallbacks || []).join(', ') || 'none')
        + ' · queued ' + num(route.queued) }),
      switchRow,
      el('div', { class: 'scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, el('th', { text: 'Deployment' }), el('th', { text: 'Health' }), el('th', { text: 'Breaker' }),
          el('th', { text: 'In flight' }), el('th', { text: 'First token (avg)' }))),
        el('tbody', {}, ...rows))));
  }

  async function degrade(model, to) {
    try {
      if (to === null) {
        await api('DELETE', '/admin/models/' + encodeURIComponent(model) + '/degrade');
      } else {
        await api('POST', '/admin/models/' + encodeURIComponent(model) + '/degrade', { to });
      }
      show('degrade-error', null);
    } catch (e) {
      show('degrade-error', 'The switch failed: ' + e.message);
    }
    // the order is published to the routing verticles: show their state once they have it
    for (let i = 0; i < 20; i++) {
      const body = await api('GET', '/admin/routes').catch(() => null);
      if (!body || (((body.models || {})[model] || {}).degraded_to ?? null) === (to ?? null) || (body.models || {})[model] === undefined) { break; }
      await new Promise((r) => setTimeout(r, 100));
    }
    await loadRoutes().catch(() => {});
  }

  // back in the same tab: the kept token is tried again before anything is shown
  if (token) {
    $('signin').hidden = true;
    signIn(token);
  }
})();

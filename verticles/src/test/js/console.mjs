// Drives the operator console (management port, /console/) in headless Chromium, one scenario per run, checking
// what a person sees (playwright's isVisible, bounding boxes, the text on screen) and what the node then does.
// Usage: node console.mjs SCENARIO '{"managementUrl":..,"apiUrl":..,"token":..,...}'   (see ConsolePageTest.java)
import { chromium } from 'playwright-core';

const [scenario, json] = process.argv.slice(2);
const options = JSON.parse(json);
const { managementUrl, apiUrl, token } = options;
const consoleUrl = managementUrl + '/console/';
const check = (ok, what) => { if (!ok) { throw new Error('failed: ' + what); } console.log('ok: ' + what); };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const outside = [];
const requested = [];
const pageErrors = [];

/** A new browser profile (its own storage) with the console open. */
async function newPage(width = 1280, height = 900) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  page.on('request', (r) => {
    requested.push(r.url());
    if (!r.url().startsWith(managementUrl) && !r.url().startsWith('data:')) { outside.push(r.url()); }
  });
  page.on('pageerror', (e) => { pageErrors.push(e.message); console.log('page error: ' + e.message); });
  page.on('console', (m) => { if (m.type() === 'error') { console.log('console error: ' + m.text()); } });
  page.on('dialog', (d) => d.accept());
  await page.goto(consoleUrl);
  return page;
}

async function signIn(page, value = token) {
  await page.getByLabel('Admin token').fill(value);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#console').waitFor({ state: 'visible' });
  await page.locator('#models article').first().waitFor();
}

/** The admin API as the test itself calls it (not through the page). */
async function admin(method, path, body) {
  const response = await fetch(managementUrl + path, { method, headers: { authorization: 'Bearer ' + token,
    'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** One chat turn on the public port with a key; the status and body. */
async function chat(key, model = 'switchboard-simulator', content = 'hello from the console test') {
  const response = await fetch(apiUrl + '/v1/chat/completions', { method: 'POST',
    headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }] }) });
  return { status: response.status, body: await response.json().catch(() => null) };
}

const CONSOLE_PARTS = ['#console', '#top', '#keys', '#usage', '#limits', '#deployments', '#models', '#signout', '#chart'];

async function nothingOfTheConsole(page, when) {
  for (const selector of CONSOLE_PARTS) {
    check(!(await page.isVisible(selector)) && (await page.locator(selector).boundingBox()) === null,
      when + ': ' + selector + ' is not on screen');
  }
  const text = await page.evaluate(() => document.body.innerText);
  check(!/Keys|Deployments|Usage|Revoke|Degrade/.test(text), when + ': no console text is on screen: ' + JSON.stringify(text));
}

/** The page never put the token (or a key's secret) in a URL and kept the token only in sessionStorage. */
async function tokenStaysInTheTab(page, secret) {
  for (const value of [token, secret].filter(Boolean)) {
    check(!requested.some((u) => u.includes(value) || decodeURIComponent(u).includes(value)), 'no URL carries a secret');
    check(!page.url().includes(value), 'the address bar carries no secret');
  }
  const stored = await page.evaluate(() => ({ local: JSON.stringify(localStorage), cookie: document.cookie }));
  check(stored.local === '{}' && stored.cookie === '', 'nothing in localStorage or cookies ' + JSON.stringify(stored));
}

const barsOf = (page, series) => page.locator('#chart svg rect[data-series="' + series.replace(/"/g, '\\"') + '"]');

async function maxBarHeight(page, series) {
  return barsOf(page, series).evaluateAll((rects) => Math.max(0, ...rects.map((r) => r.getBoundingClientRect().height)));
}

const keyRow = (page, alias) => page.locator('#keys-table tbody tr').filter({ has: page.locator('td.alias', { hasText: alias }) });

const scenarios = {
  async signin() {
    const page = await newPage();
    const response = await fetch(consoleUrl);
    const csp = response.headers.get('content-security-policy') || '';
    check(csp.includes("script-src 'self'") && !csp.includes('unsafe-inline') && csp.includes("frame-ancestors 'none'"),
      'the page is served with a strict CSP: ' + csp);
    check(response.headers.get('x-frame-options') === 'DENY', 'and may not be framed');
    const bare = await fetch(managementUrl + '/console', { redirect: 'manual' });
    check(bare.status >= 301 && bare.status <= 308 && bare.headers.get('location') === '/console/',
      '/console leads to /console/ (' + bare.status + ')');

    check(await page.getByLabel('Admin token').isVisible(), 'the sign-in form is shown');
    await nothingOfTheConsole(page, 'before sign-in');
    const reached = [];
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => (document.activeElement.closest('#console') ? document.activeElement.id || 'in-console' : '')));
    }
    check(reached.every((r) => r === ''), 'Tab never reaches the console before sign-in ' + JSON.stringify(reached));

    await page.getByLabel('Admin token').fill('not-the-admin-token-00000');
    await page.getByLabel('Admin token').press('Enter');
    await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor();
    check(await page.isVisible('#signin-error'), 'a wrong token gets a visible error: '
      + JSON.stringify(await page.textContent('#signin-error')));
    await nothingOfTheConsole(page, 'after a wrong token');
    check(await page.evaluate(() => sessionStorage.length === 0), 'a wrong token is not kept');

    await signIn(page);
    check(!(await page.isVisible('#signin')), 'the sign-in form is gone once signed in');
    for (const selector of ['#keys', '#usage', '#limits', '#deployments', '#signout']) {
      check(await page.isVisible(selector), 'signed in: ' + selector + ' is shown');
    }
    check(await page.evaluate((t) => Object.keys(sessionStorage).length === 1
      && Object.values(sessionStorage)[0] === t, token), 'the token is kept in sessionStorage only');
    await tokenStaysInTheTab(page);

    await page.reload();
    await page.locator('#models article').first().waitFor();
    check(await page.isVisible('#console') && !(await page.isVisible('#signin')), 'a reload in the same tab stays signed in');

    const other = await newPage();
    check(await other.getByLabel('Admin token').isVisible() && !(await other.isVisible('#console')),
      'another browser profile must sign in itself');

    await page.getByRole('button', { name: 'Sign out' }).click();
    check(await page.getByLabel('Admin token').isVisible(), 'sign out shows the form again');
    await nothingOfTheConsole(page, 'after sign-out');
    check(await page.evaluate(() => sessionStorage.length === 0), 'and forgets the token');
  },

  async off() {
    const page = await newPage();
    await page.getByLabel('Admin token').fill(token);
    await page.getByLabel('Admin token').press('Enter');
    await page.locator('#signin-error').waitFor({ state: 'visible' });
    const error = await page.locator('#signin-error').innerText();
    check(error.includes('admin API is off') && error.includes('management.admin_token'),
      'a node without an admin token says how to turn the admin API on: ' + JSON.stringify(error));
    await nothingOfTheConsole(page, 'on a node with the admin API off');
  },

  async deployments() {
    const page = await newPage();
    await signIn(page);
    const card = (model) => page.locator('#models article[data-model="' + model + '"]');
    for (const model of ['switchboard-simulator', 'sim-backup', 'broken']) {
      check(await card(model).isVisible(), model + ' is listed');
    }
    const row = (model) => card(model).locator('tbody tr').first();
    const failed = await chat(options.yamlKey, 'broken');
    check(failed.status >= 500, 'a call to the broken model fails: ' + failed.status);
    check((await row('switchboard-simulator').locator('td.health').innerText()) === 'healthy'
      && (await row('switchboard-simulator').locator('td.breaker').innerText()) === 'closed',
    'a working deployment shows healthy with its breaker closed');
    // the broken deployment's upstream refuses connections: one failure opens its breaker (max_failures: 1)
    await page.waitForFunction(() => document.querySelector('#models article[data-model="broken"] td.breaker')
      ?.textContent === 'open', null, { timeout: 12000 });
    check(true, 'a deployment whose upstream is down shows its breaker open: '
      + JSON.stringify(await row('broken').innerText()));

    const state = (await admin('GET', '/admin/routes')).body.models;
    check(state.broken.deployments[0].breaker === 'open' && state['switchboard-simulator'].deployments[0].breaker === 'closed',
      '/admin/routes says each deployment\'s breaker state: ' + JSON.stringify(state.broken.deployments[0]));

    // degrade switchboard-simulator to sim-backup with the switch
    await card('switchboard-simulator').getByLabel('Degrade switchboard-simulator to').selectOption('sim-backup');
    await card('switchboard-simulator').getByRole('button', { name: 'Degrade switchboard-simulator' }).click();
    await card('switchboard-simulator').getByText('Degraded: traffic goes to sim-backup').waitFor();
    check(true, 'the page shows the model degraded');
    let routes = await admin('GET', '/admin/routes');
    check(routes.body.models['switchboard-simulator'].degraded_to === 'sim-backup',
      '/admin/routes reports it degraded to sim-backup');
    const answer = await chat(options.yamlKey);
    check(answer.status === 200 && answer.body.model === 'sim-backup',
      'a chat call for it is now answered by sim-backup: ' + JSON.stringify(answer.body && answer.body.model));

    await card('switchboard-simulator').getByRole('button', { name: 'Restore switchboard-simulator' }).click();
    await card('switchboard-simulator').getByText('Not degraded').waitFor();
    routes = await admin('GET', '/admin/routes');
    check(routes.body.models['switchboard-simulator'].degraded_to === null, 'restored: /admin/routes reports it normal');
    check((await chat(options.yamlKey)).body.model === 'switchboard-simulator', 'and its own deployment answers again');
  },

  async missing() {
    // a node without the keys and usage APIs (404): those panels say so, the others work
    const page = await newPage();
    await page.route(/\/admin\/(keys|usage|tenants)/, (route) => route.fulfill({ status: 404,
      contentType: 'application/json', body: JSON.stringify({ error: { message: 'not found', type: 'invalid_request_error', param: null, code: 'not_found' } }) }));
    await signIn(page);
    for (const panel of ['#keys', '#usage', '#limits']) {
      await page.locator(panel + ' .unavailable').waitFor({ state: 'visible' });
      check((await page.locator(panel + ' .unavailable').innerText()).includes('not available on this node'),
        panel + ' says it is not available on this node');
      check(!(await page.isVisible(panel + ' .available')), panel + ' shows nothing else');
    }
    check(await page.isVisible('#models article'), 'deployments are still shown');
    check(!(await page.isVisible('#console-error')), 'and no error');
  },

  async keys() {
    const page = await newPage();
    await signIn(page);
    const alias = '<img src=x onerror="window.__pwned=1">';
    // create a key
    await page.getByText('Create a key').click();
    await page.getByLabel('Alias', { exact: true }).fill(alias);
    await page.getByLabel('Tenant', { exact: true }).first().fill(options.tenant);
    await page.getByLabel('RPM limit', { exact: true }).first().fill('100');
    await page.getByLabel('TPM limit', { exact: true }).first().fill('50000');
    await page.getByLabel('Budget (USD)', { exact: true }).first().fill('5');
    await page.getByLabel('Budget period', { exact: true }).first().fill('30d');
    await page.getByLabel('Priority', { exact: true }).fill('3');
    await page.getByLabel('Metadata (JSON)').fill('{"note": "<script>window.__pwned=2</script>"}');
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.locator('#secret').waitFor({ state: 'visible' });
    const secret = (await page.locator('#secret-value').innerText()).trim();
    check(/^sk-sb-\S{16,}$/.test(secret), 'the secret is shown once, at creation: ' + secret.slice(0, 8) + '…');

    const row = keyRow(page, alias);
    await row.waitFor();
    check((await row.locator('td.alias').innerText()).startsWith(alias), 'the hostile alias shows as text');
    check((await row.innerText()).includes('<script>window.__pwned=2</script>'), 'and so does hostile metadata');
    check(await page.locator('#keys-table img, #keys-table script').count() === 0, 'no element was made from them');
    check(await page.evaluate(() => window.__pwned === undefined), 'and nothing ran');
    check((await row.locator('td.tenant').innerText()) === options.tenant, 'the key is listed with its tenant');
    const limits = await row.locator('td.limits').innerText();
    check(limits.includes('100 req/min') && limits.includes('50,000 tok/min') && limits.includes('$5.00 per 30d') && limits.includes('priority 3'),
      'with its limits: ' + limits);
    const hint = await row.locator('.hint').innerText();
    check(hint.startsWith('sk-sb-') && hint.endsWith(secret.slice(-4)) && !hint.includes(secret.slice(6, -4)),
      'and a hint of the key, not the secret: ' + hint);
    check(!(await page.locator('#keys-table').innerText()).includes(secret), 'the list never shows the secret');

    await page.getByRole('button', { name: 'I have copied it' }).click();
    check(!(await page.isVisible('#secret')), 'closing the box hides the secret');
    check(!(await page.evaluate((s) => document.documentElement.outerHTML.includes(s), secret)), 'and drops it from the page');
    await page.reload();
    await keyRow(page, alias).waitFor();
    check(!(await page.isVisible('#secret')) && !(await page.evaluate((s) => document.documentElement.outerHTML.includes(s), secret)),
      'after a reload the secret is gone for good');
    await tokenStaysInTheTab(page, secret);

    // change its limits from the list
    await keyRow(page, alias).getByRole('button', { name: 'Edit' }).click();
    check(await page.getByLabel('Alias', { exact: true }).inputValue() === alias, 'Edit fills the form with the key');
    await page.getByLabel('RPM limit', { exact: true }).first().fill('200');
    await page.getByRole('button', { name: 'Save key' }).click();
    await page.waitForFunction((a) => [...document.querySelectorAll('#keys-table tbody tr')].some((r) =>
      r.querySelector('td.alias').textContent.startsWith(a) && r.querySelector('td.limits').textContent.includes('200 req/min')), alias);
    const id = await keyRow(page, alias).getAttribute('data-key-id');
    const patched = (await admin('GET', '/admin/keys/' + id)).body;
    check(patched.rpm_limit === 200 && patched.tpm_limit === 50000 && patched.key_alias === alias && patched.priority === 3,
      'the node has the new limit and the rest unchanged: ' + JSON.stringify(patched));
    check(await page.textContent('#create-key') === 'Create key' && await page.textContent('#key-form-title') === 'Create a key', 'and the form is back to creating keys');

    // the key works on the public port, and a few turns show in the usage chart
    for (let i = 0; i < 3; i++) {
      const answer = await chat(secret, 'switchboard-simulator', 'turn ' + i);
      check(answer.status === 200, 'chat turn ' + i + ' with the new key: ' + answer.status);
    }
    await chartShows(page, 'tenant', options.tenant);
    await chartShows(page, 'model', 'switchboard-simulator');
    await chartShows(page, 'key', alias + ' (' + id.slice(-6) + ')');
    check(await page.locator('#usage img').count() === 0 && await page.evaluate(() => window.__pwned === undefined),
      'the hostile alias in the legend is text too');
    await page.screenshot({ path: options.screenshot, fullPage: true });

    // revoke it
    await row.getByRole('button', { name: 'Revoke' }).click();
    await keyRow(page, alias).waitFor({ state: 'detached' });
    check(true, 'a revoked key is gone from the list');
    let refused = null;
    const until = Date.now() + 2000;
    do {
      refused = await chat(secret);
    } while (refused.status === 200 && Date.now() < until);
    check(refused.status === 401, 'and refused on the public port: ' + refused.status + ' ' + JSON.stringify(refused.body));
  },

  async limits() {
    const page = await newPage();
    await signIn(page);
    const row = (name) => page.locator('#tenants-table tbody tr[data-tenant="' + name + '"]');
    await row('acme').waitFor();
    check((await row('acme').innerText()).replace(/\s+/g, ' ').includes('all 600 200,000 $50.00 per 30d config'),
      'a tenant from the config is listed with its limits: ' + JSON.stringify(await row('acme').innerText()));
    await page.getByText("Set a tenant's limits").click();
    await page.locator('#tenant-name').fill('beta-team');
    await page.locator('#tenant-models').fill('switchboard-simulator, sim-backup');
    await page.locator('#tenant-rpm').fill('30');
    await page.locator('#tenant-budget').fill('2.5');
    await page.locator('#tenant-budget-duration').fill('1d');
    await page.getByRole('button', { name: 'Save tenant' }).click();
    await row('beta-team').waitFor();
    const text = (await row('beta-team').innerText()).replace(/\s+/g, ' ');
    check(/(switchboard-simulator, sim-backup|sim-backup, switchboard-simulator) 30 — \$2\.50 per 1d admin/.test(text), 'a tenant set from the page is listed: ' + text);
    const stored = (await admin('GET', '/admin/tenants')).body.data.find((t) => t.name === 'beta-team');
    check(stored && stored.rpm_limit === 30 && stored.max_budget === 2.5 && stored.models.length === 2,
      'and the node has it: ' + JSON.stringify(stored));
    // a name the node refuses: its error is shown, as text
    await page.getByText("Set a tenant's limits").click();
    await page.locator('#tenant-name').fill('<b>bad name</b>');
    await page.getByRole('button', { name: 'Save tenant' }).click();
    await page.locator('#tenant-error').waitFor({ state: 'visible' });
    check((await page.locator('#tenant-error').innerText()).includes('not saved'),
      'a refused tenant shows the node\'s reason: ' + JSON.stringify(await page.locator('#tenant-error').innerText()));
    check(await page.locator('#limits b').count() === 0, 'and nothing of the name became markup');
  },

  async layout() {
    const made = await admin('POST', '/admin/keys', { key_alias: 'a key with a rather long alias for a phone screen',
      tenant: 'acme', rpm_limit: 10, tpm_limit: 10000, metadata: { team: 'layout' } });
    check(made.status === 201, 'a key to show: ' + made.status);
    check((await chat(options.yamlKey)).status === 200, 'and a turn to chart');
    for (const [width, height] of [[1280, 900], [390, 844]]) {
      const page = await newPage(width, height);
      const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      check(await overflow() <= 0, width + ' px: the sign-in form fits');
      const loaded = await page.evaluate(() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd);
      const before = Date.now();
      await signIn(page);
      await page.waitForFunction(() => document.querySelector('#chart svg')
        || document.querySelector('#usage .unavailable:not([hidden])'));
      await page.locator('#keys-table tbody tr').first().waitFor();
      console.log('figure: ' + width + ' px: page ready in ' + Math.round(loaded) + ' ms, every panel filled '
        + (Date.now() - before) + ' ms after Sign in');
      check(await overflow() <= 0, width + ' px: the console fits the width (tables scroll inside their panels)');
      if (await page.isVisible('#chart svg')) {
        const chart = await page.locator('#chart svg').boundingBox();
        check(chart.width <= width && chart.width >= width * 0.6, width + ' px: the chart fills the panel (' + chart.width + ' px)');
      }
      for (const selector of ['#keys', '#usage', '#limits', '#deployments', '#keys-table tbody tr', '#models article']) {
        const box = await page.locator(selector).first().boundingBox();
        check(box.x >= 0 && box.x + box.width <= width + 0.5, width + ' px: ' + selector + ' is within the screen');
      }
      await page.screenshot({ path: options.screenshot.replace('.png', '-' + width + '.png'), fullPage: true });
    }
  },
};

/** The usage chart, grouped by `by`, has a legend entry and a bar of non-zero height for `name`. */
async function chartShows(page, by, name) {
  await page.getByLabel('By', { exact: true }).selectOption(by);
  const deadline = Date.now() + 10000;
  let height = 0;
  while (Date.now() < deadline) {
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.waitForTimeout(300);
    height = await maxBarHeight(page, name);
    if (height > 0) { break; }
  }
  const legend = await page.locator('#legend li').allInnerTexts();
  check(legend.includes(name), 'the usage chart by ' + by + ' has ' + name + ' in its legend ' + JSON.stringify(legend));
  check(height > 0, 'and a bar of ' + height.toFixed(1) + ' px for it');
  const tick = await page.locator('#chart svg text.tick').allTextContents();
  check(tick.length >= 3 && (await page.locator('#chart svg text.axis-title').allTextContents()).includes('Day (UTC)'),
    'with labelled axes ' + JSON.stringify(tick.slice(0, 6)));
  check((await page.locator('#usage-table tbody').innerText()).includes(name), 'and a totals row for ' + name);
  check((await page.locator('#usage-note').innerText()).includes("this node's turns only"),
    'and the note that an in-memory spend log is this node\'s only');
}

try {
  if (!scenarios[scenario]) {
    throw new Error('no scenario ' + scenario);
  }
  await scenarios[scenario]();
  check(outside.length === 0, 'nothing was fetched from outside the node ' + JSON.stringify(outside));
  check(pageErrors.length === 0, 'the page threw no error ' + JSON.stringify(pageErrors));
  console.log('PASSED');
} catch (e) {
  console.log(e.stack || String(e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
